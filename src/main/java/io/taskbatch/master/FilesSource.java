package io.taskbatch.master;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * One task per regular file under {@code root} whose relative path matches {@code glob}; the input
 * is the file's absolute path (the worker reads the file, the queue carries only its name). The walk
 * is depth-first with each directory's entries sorted, so ids are stable, and it holds one
 * directory listing per level, never the whole tree.
 */
public final class FilesSource implements TaskSource {
    private final Path root;
    private final String glob;
    private final List<PathMatcher> matchers = new ArrayList<>();

    public FilesSource(Path root, String glob) {
        this.root = root.toAbsolutePath().normalize();
        this.glob = glob;
        for (String variant : variants(glob)) {
            matchers.add(FileSystems.getDefault().getPathMatcher("glob:" + variant));
        }
    }

    /**
     * The glob and its forms with any {@code **}{@code /} standing for no directory at all, as users
     * expect from shells and .gitignore: {@code **}{@code /*.gz} also matches {@code a.gz}.
     */
    static List<String> variants(String glob) {
        List<String> out = new ArrayList<>(List.of(glob));
        for (int i = 0; i < out.size(); i++) {
            String g = out.get(i);
            for (int at = g.indexOf("**/"); at >= 0; at = g.indexOf("**/", at + 1)) {
                String shorter = g.substring(0, at) + g.substring(at + 3);
                if (!out.contains(shorter)) out.add(shorter);
            }
        }
        return out;
    }

    private boolean matches(Path relative) {
        for (PathMatcher m : matchers) {
            if (m.matches(relative)) return true;
        }
        return false;
    }

    @Override
    public String description() {
        return "files " + glob + " under " + root;
    }

    @Override
    public long count() throws IOException {
        try (Stream<String> inputs = inputs()) {
            return inputs.count();
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    @Override
    public Stream<String> inputs() throws IOException {
        if (!Files.isDirectory(root)) throw new IOException("no such directory: " + root);
        Walk walk = new Walk();
        return StreamSupport.stream(Spliterators.spliteratorUnknownSize(walk, Spliterator.ORDERED | Spliterator.NONNULL), false);
    }

    private final class Walk implements Iterator<String> {
        private final Deque<Iterator<Path>> stack = new ArrayDeque<>();
        private String next;

        Walk() throws IOException {
            stack.push(sortedEntries(root));
        }

        @Override
        public boolean hasNext() {
            while (next == null && !stack.isEmpty()) {
                Iterator<Path> top = stack.peek();
                if (!top.hasNext()) {
                    stack.pop();
                    continue;
                }
                Path path = top.next();
                try {
                    if (Files.isDirectory(path)) {
                        stack.push(sortedEntries(path));
                    } else if (Files.isRegularFile(path) && matches(root.relativize(path))) {
                        next = path.toString();
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            return next != null;
        }

        @Override
        public String next() {
            if (!hasNext()) throw new NoSuchElementException();
            String result = next;
            next = null;
            return result;
        }
    }

    private static Iterator<Path> sortedEntries(Path dir) throws IOException {
        List<Path> entries = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
            stream.forEach(entries::add);
        }
        entries.sort(null);
        return entries.iterator();
    }
}
