package io.taskbatch.master;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskbatch.queue.ResultMessage;
import io.taskbatch.queue.TaskMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class BatchCountersTest {

    /** Fails without the counters' lock: updates get lost and snapshots tear. */
    @Test
    void manyThreadsRecordingKeepTheCountsExactAndEverySnapshotConsistent() throws Exception {
        BatchCounters counters = new BatchCounters();
        int threads = 4;
        int perThread = 200_000;
        ResultMessage ok = ResultMessage.succeeded(TaskMessage.first(1, "x"), "y", 0, "w");
        ResultMessage bad = ResultMessage.failed(new TaskMessage(2, 3, "x", null), "boom", 0, "w");
        CountDownLatch start = new CountDownLatch(1);
        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicReference<String> torn = new AtomicReference<>();
        Thread reader = Thread.ofPlatform().start(() -> {
            while (writing.get()) {
                Progress p = counters.snapshot();
                // each failed result carries 2 retries and each thread records as many failures as successes
                if (p.retried() != 2 * p.failed()) torn.compareAndSet(null, "retried " + p.retried() + " vs failed " + p.failed());
            }
        });
        List<Thread> writers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            writers.add(Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < perThread; i++) {
                    counters.record(i % 2 == 0 ? ok : bad);
                    counters.published(1);
                }
            }));
        }
        start.countDown();
        for (Thread w : writers) w.join();
        writing.set(false);
        reader.join();

        Progress p = counters.snapshot();
        assertThat(p.succeeded()).isEqualTo(threads * perThread / 2);
        assertThat(p.failed()).isEqualTo(threads * perThread / 2);
        assertThat(p.retried()).isEqualTo(threads * perThread);
        assertThat(p.published()).isEqualTo(threads * perThread);
        assertThat(p.done()).isEqualTo(p.succeeded() + p.failed());
        assertThat(torn.get()).as("a snapshot showed counts from different moments").isNull();
        assertThat(p.firstFailures()).hasSize(BatchCounters.FIRST_FAILURES_KEPT);
    }

    @Test
    void totalBecomesExactWhenPublishingEnds() {
        BatchCounters counters = new BatchCounters();
        counters.expectTotal(10);
        counters.published(7);
        assertThat(counters.snapshot().complete()).isFalse();
        counters.publishingDone();
        assertThat(counters.snapshot().total()).isEqualTo(7);
    }
}
