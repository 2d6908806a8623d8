package io.taskbatch.master;

import java.io.IOException;
import java.util.stream.Stream;

/**
 * Where a batch's task inputs come from, streamed in a stable order: an input's position in that
 * order is its task id, the same after a restart.
 */
public interface TaskSource {

    /** A short description for logs and errors, e.g. {@code range 1..100 step 1}. */
    String description();

    /** How many inputs there are; may read the source through once. */
    long count() throws IOException;

    /** The inputs, lazily: close the stream when done. */
    Stream<String> inputs() throws IOException;
}
