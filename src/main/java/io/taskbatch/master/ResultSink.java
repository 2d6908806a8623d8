package io.taskbatch.master;

import io.taskbatch.queue.ResultMessage;
import java.io.IOException;

/** Where the master stores final results. A result is acknowledged only after {@link #flush()}. */
public interface ResultSink extends AutoCloseable {

    void write(ResultMessage result) throws IOException;

    /** Makes every result written so far durable enough to acknowledge it. */
    void flush() throws IOException;

    @Override
    void close() throws IOException;
}
