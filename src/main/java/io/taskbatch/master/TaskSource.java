package io.taskbatch.master;

import java.io.IOException;
import java.util.stream.Stream;

/**
 * Where a batch's task inputs come from, streamed in a stable order: an input's position in that
 * order is its task id, the same after a restart.
 */
public interface TaskSource {

    /**
     * One position of the source: its input, or, when the input cannot be read (a line that is not UTF-8), why not.
     * Such a position is still a task, with its id, that fails without running ({@code spec.tasks.sourceErrors:
     * failTask}).
     */
    record Entry(String input, String error) {
        public static Entry of(String input) {
            return new Entry(input, null);
        }

        public static Entry unreadable(String error) {
            return new Entry(null, error);
        }
    }

    /** A short description for logs and errors, e.g. {@code range 1..100 step 1}. */
    String description();

    /** How many inputs there are (unreadable ones included); may read the source through once. */
    long count() throws IOException;

    /** The inputs, lazily: close the stream when done. */
    Stream<String> inputs() throws IOException;

    /** The inputs and the unreadable positions, lazily: close the stream when done. Only a lines source has the latter. */
    default Stream<Entry> entries() throws IOException {
        return inputs().map(Entry::of);
    }
}
