package io.taskbatch.worker;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.jboss.logging.MDC;

/**
 * The request context of the task a thread is running: bound as a ThreadLocal around each task,
 * read by handlers and by every log line (through the MDC) without being passed down, and always
 * cleared afterwards so that a pooled thread never carries one task's context into the next.
 * Work handed to another thread carries it explicitly with {@link #wrap(Runnable)}.
 *
 * @param deadlineNanos {@link System#nanoTime()} after which the attempt counts as timed out
 */
public record TaskContext(String batch, long taskId, int attempt, long deadlineNanos, String traceId) {

    public static final String MDC_BATCH = "batch";
    public static final String MDC_TASK = "taskId";
    public static final String MDC_ATTEMPT = "attempt";

    private static final ThreadLocal<TaskContext> CURRENT = new ThreadLocal<>();

    /** The context of the task this thread is running, or null between tasks. */
    public static TaskContext current() {
        return CURRENT.get();
    }

    /** The context of the task this thread is running; fails when called outside a task. */
    public static TaskContext require() {
        TaskContext ctx = CURRENT.get();
        if (ctx == null) throw new IllegalStateException("no task is running on thread " + Thread.currentThread().getName());
        return ctx;
    }

    public Duration remaining() {
        return Duration.ofNanos(Math.max(0, deadlineNanos - System.nanoTime()));
    }

    public boolean expired() {
        return System.nanoTime() - deadlineNanos >= 0;
    }

    /**
     * Binds this context to the calling thread, and its batch, task id and attempt to the log MDC,
     * until the returned scope is closed. Closing puts back the thread's previous context and its
     * MDC exactly as they were: also whatever the task itself put in the MDC is gone, so a pooled
     * thread carries nothing of one task into the next.
     */
    public Scope bind() {
        TaskContext previous = CURRENT.get();
        Map<String, Object> previousMdc = new HashMap<>(MDC.getMap());
        install(this);
        return () -> {
            if (previous == null) CURRENT.remove();
            else CURRENT.set(previous);
            MDC.clear();
            previousMdc.forEach(MDC::put);
        };
    }

    /** Captures the caller's context (if any) for {@code task}, to run on another thread. */
    public static Runnable wrap(Runnable task) {
        TaskContext captured = CURRENT.get();
        if (captured == null) return task;
        return () -> {
            try (Scope ignored = captured.bind()) {
                task.run();
            }
        };
    }

    private static void install(TaskContext ctx) {
        CURRENT.set(ctx);
        MDC.put(MDC_BATCH, ctx.batch);
        MDC.put(MDC_TASK, Long.toString(ctx.taskId));
        MDC.put(MDC_ATTEMPT, Integer.toString(ctx.attempt));
    }

    /** Puts the thread's previous context back; never throws. */
    @FunctionalInterface
    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }
}
