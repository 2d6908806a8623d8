package io.taskbatch.worker;

import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The threads that move bytes between the worker and its child processes: drain a child's stdout
 * and stderr (an undrained pipe blocks the child for ever) and write its stdin when the write
 * could block. One shared pool of daemon threads, so a thread dump names them.
 */
final class StreamPumps {
    /** A pipe holds at least one page: a write this small into an empty pipe never blocks. */
    static final int PIPE_ATOMIC_BYTES = 4096;

    private static final ExecutorService THREADS = Executors.newCachedThreadPool(new NamedDaemonThreads("taskbatch-drain-"));

    private StreamPumps() {
    }

    /** Runs a pump with the caller's {@link TaskContext}, so that what it logs is tagged with the task. */
    static Future<?> start(Runnable pump) {
        return THREADS.submit(TaskContext.wrap(pump));
    }

    /** The pool itself, for pumps that report through a {@link java.util.concurrent.CompletableFuture}. */
    static ExecutorService threads() {
        return THREADS;
    }

    /** Writes the input and closes stdin; from a pool thread when the write could block on a full pipe. */
    static void feed(OutputStream stdin, byte[] bytes) {
        if (bytes.length <= PIPE_ATOMIC_BYTES) {
            writeAndClose(stdin, bytes);
        } else {
            THREADS.execute(TaskContext.wrap(() -> writeAndClose(stdin, bytes)));
        }
    }

    private static void writeAndClose(OutputStream stdin, byte[] bytes) {
        try (stdin) {
            stdin.write(bytes);
        } catch (IOException ignored) {
            // broken pipe: the child exited or closed stdin without reading it all, which is its right
        }
    }

    /** Waits until every non-null future is done, at most {@code limit} in all; returns whether they all finished. */
    static boolean awaitAll(Duration limit, Future<?>... futures) throws InterruptedException {
        long end = System.nanoTime() + limit.toNanos();
        for (Future<?> f : futures) {
            if (f == null) continue;
            try {
                f.get(Math.max(0, end - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                return false;
            } catch (ExecutionException e) {
                // the pumps swallow IOExceptions; anything else means the stream is done for anyway
            }
        }
        return true;
    }

    /** {@link #awaitAll}, for clean-up paths: an interrupt ends the wait and stays set on the thread. */
    static void awaitQuietly(Duration limit, Future<?>... futures) {
        try {
            awaitAll(limit, futures);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static final class NamedDaemonThreads implements ThreadFactory {
        private final String prefix;
        private final AtomicInteger next = new AtomicInteger(1);

        NamedDaemonThreads(String prefix) {
            this.prefix = prefix;
        }

        @Override
        public Thread newThread(Runnable r) {
            return Thread.ofPlatform().daemon().name(prefix + next.getAndIncrement()).unstarted(r);
        }
    }
}
