package io.taskbatch.master;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * One task per non-blank line of a UTF-8 text (a ConfigMap key, or a local file); blank lines are skipped. A line
 * that is not UTF-8 is, with {@code spec.tasks.sourceErrors: failTask}, a task of its own that fails without running
 * (an unreadable {@link Entry}); with {@code failBatch}, an error that fails the batch. Either way the error names
 * the line, the text and the column.
 */
public final class LinesSource implements TaskSource {

    /** Opens the text's bytes (UTF-8) afresh each time it is called. */
    @FunctionalInterface
    public interface TextOpener {
        InputStream open() throws IOException;
    }

    private final String description;
    private final String name;
    private final boolean failTask;
    private final TextOpener opener;

    /**
     * @param name     what the text is called in errors about its lines, e.g. {@code tasks.txt}
     * @param failTask a line that cannot be read fails its task ({@code failTask}), else the batch ({@code failBatch})
     */
    public LinesSource(String description, String name, boolean failTask, TextOpener opener) {
        this.description = description;
        this.name = name;
        this.failTask = failTask;
        this.opener = opener;
    }

    @Override
    public String description() {
        return description;
    }

    @Override
    public long count() throws IOException {
        try (Stream<Entry> entries = entries()) {
            return entries.count();
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /** The lines; an unreadable one ends the stream with an {@link UncheckedIOException} that names it. */
    @Override
    public Stream<String> inputs() throws IOException {
        return entries().map(entry -> {
            if (entry.error() != null) throw new UncheckedIOException(new IOException(entry.error()));
            return entry.input();
        });
    }

    @Override
    public Stream<Entry> entries() throws IOException {
        Utf8LineReader reader = new Utf8LineReader(opener.open());
        Iterator<Entry> lines = new Iterator<>() {
            private Entry next;

            @Override
            public boolean hasNext() {
                while (next == null) {
                    try {
                        String line = reader.readLine();
                        if (line == null) return false;
                        if (!line.isBlank()) next = Entry.of(line);
                    } catch (Utf8LineReader.MalformedLineException e) {
                        if (!failTask) {
                            throw new UncheckedIOException(new IOException(e.describe(name)
                                    + ": fix the line, or set spec.tasks.sourceErrors: failTask to fail only its task", e));
                        }
                        next = Entry.unreadable(e.describe(name) + ", so its task never ran: fix the line, or set "
                                + "spec.tasks.sourceErrors: failBatch to stop the batch at such a line");
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }
                return true;
            }

            @Override
            public Entry next() {
                if (!hasNext()) throw new NoSuchElementException();
                Entry entry = next;
                next = null;
                return entry;
            }
        };
        return StreamSupport.stream(Spliterators.spliteratorUnknownSize(lines, Spliterator.ORDERED | Spliterator.NONNULL), false)
                .onClose(() -> {
                    try {
                        reader.close();
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
    }
}
