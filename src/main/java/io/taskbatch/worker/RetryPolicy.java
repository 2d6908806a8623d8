package io.taskbatch.worker;

import java.time.Duration;

/**
 * How often a task may be attempted, and how long to wait between attempts: the delay doubles
 * from {@code backoff} after each failure, up to {@code maxBackoff}.
 */
public record RetryPolicy(int maxAttempts, Duration backoff, Duration maxBackoff) {

    public RetryPolicy {
        if (maxAttempts < 1) throw new IllegalArgumentException("maxAttempts must be >= 1");
        if (backoff.isNegative() || maxBackoff.isNegative()) throw new IllegalArgumentException("negative backoff");
    }

    public static RetryPolicy none() {
        return new RetryPolicy(1, Duration.ZERO, Duration.ZERO);
    }

    public boolean mayRetryAfter(int failedAttempt) {
        return failedAttempt < maxAttempts;
    }

    /** The delay before the attempt after {@code failedAttempt} (1-based). */
    public Duration delayAfter(int failedAttempt) {
        Duration delay = backoff;
        for (int i = 1; i < failedAttempt && delay.compareTo(maxBackoff) < 0; i++) {
            delay = delay.multipliedBy(2);
        }
        return delay.compareTo(maxBackoff) > 0 ? maxBackoff : delay;
    }
}
