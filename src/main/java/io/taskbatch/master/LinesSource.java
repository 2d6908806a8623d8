package io.taskbatch.master;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.stream.Stream;

/** One task per non-blank line of a text (a ConfigMap key, or a local file); blank lines are skipped. */
public final class LinesSource implements TaskSource {

    /** Opens the text afresh each time it is called. */
    @FunctionalInterface
    public interface TextOpener {
        BufferedReader open() throws IOException;
    }

    private final String description;
    private final TextOpener opener;

    public LinesSource(String description, TextOpener opener) {
        this.description = description;
        this.opener = opener;
    }

    @Override
    public String description() {
        return description;
    }

    @Override
    public long count() throws IOException {
        try (Stream<String> lines = inputs()) {
            return lines.count();
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    @Override
    public Stream<String> inputs() throws IOException {
        BufferedReader reader = opener.open();
        return reader.lines().filter(line -> !line.isBlank()).onClose(() -> {
            try {
                reader.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }
}
