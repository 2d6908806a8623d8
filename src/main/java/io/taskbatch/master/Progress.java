package io.taskbatch.master;

import io.taskbatch.queue.ResultMessage;
import java.time.Duration;
import java.util.List;

/**
 * A consistent snapshot of a batch's counts: {@code succeeded + failed == done} always holds.
 *
 * @param total        number of tasks; -1 while still unknown
 * @param retried      retries of finished tasks (attempts beyond the first)
 * @param dead         failed tasks that never gave a result (their workers died)
 * @param duplicates   results that arrived more than once and were dropped
 * @param rejected     results that were not of this batch (an id outside it, no status) and were never counted
 * @param cancelled    tasks the batch stopped before they had a result (each has a {@code cancelled} line)
 * @param firstFailures the first few tasks that failed for good
 */
public record Progress(long total, long published, boolean publishingDone, long succeeded, long failed,
                       long retried, long dead, long duplicates, long rejected, long cancelled,
                       Duration elapsed,
                       List<ResultMessage> firstFailures) {

    public long done() {
        return succeeded + failed;
    }

    public boolean complete() {
        return publishingDone && done() >= total;
    }

    /** Tasks finished per second since the start. */
    public double averageRate() {
        double seconds = elapsed.toNanos() / 1e9;
        return seconds > 0 ? done() / seconds : 0;
    }
}
