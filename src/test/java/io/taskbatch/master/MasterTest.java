package io.taskbatch.master;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskbatch.TestBatches.CollectingSink;
import io.taskbatch.queue.MasterTransport;
import io.taskbatch.queue.ResultMessage;
import io.taskbatch.queue.TaskMessage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class MasterTest {

    /** A transport whose "workers" answer every task at once, each result delivered twice. */
    static class EchoTwiceTransport implements MasterTransport {
        final LinkedBlockingQueue<ResultMessage> results = new LinkedBlockingQueue<>();
        final List<String> events = new ArrayList<>();
        final CollectingSink sink;
        boolean finished;

        EchoTwiceTransport(CollectingSink sink) {
            this.sink = sink;
        }

        @Override
        public void publish(TaskMessage task) {
            ResultMessage r = ResultMessage.succeeded(task, task.input().toUpperCase(), 0, "w");
            results.add(r);
            results.add(r);
        }

        @Override
        public void awaitPublished() {
        }

        @Override
        public List<ResultDelivery> pollResults(int max, Duration timeout) throws InterruptedException {
            ResultMessage first = results.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (first == null) return List.of();
            List<ResultDelivery> out = new ArrayList<>();
            out.add(delivery(first));
            ResultMessage next;
            while (out.size() < max && (next = results.poll()) != null) out.add(delivery(next));
            return out;
        }

        private ResultDelivery delivery(ResultMessage r) {
            return () -> r;
        }

        @Override
        public void ackAll(List<ResultDelivery> stored) {
            for (ResultDelivery d : stored) {
                boolean isStored = sink.byId().stream().anyMatch(s -> s.id() == d.result().id()) && sink.flushes() > 0;
                synchronized (events) {
                    events.add(isStored ? "ack-after-store" : "ack-before-store");
                }
            }
        }

        @Override
        public void finish() {
            finished = true;
        }
    }

    private static Master master(long maxFailed) {
        return new Master(new Master.Settings("t/b", maxFailed, Duration.ofMillis(20), ProgressListener.NONE));
    }

    /** A master that publishes the open tasks again after {@code stallLimit} without a result. */
    private static Master stallingMaster(Duration stallLimit) {
        return new Master(new Master.Settings("t/b", 0, Duration.ofMillis(20), ProgressListener.NONE, stallLimit));
    }

    @Test
    void aResultDeliveredTwiceIsStoredAndCountedOnceAndAckedOnlyAfterItIsStored() throws Exception {
        CollectingSink sink = new CollectingSink();
        EchoTwiceTransport transport = new EchoTwiceTransport(sink);
        BatchOutcome outcome = master(0).run(new ItemsSource(List.of("a", "b", "c")), transport, sink);
        assertThat(outcome.succeeded()).isTrue();
        assertThat(sink.byId()).extracting(ResultMessage::output).containsExactly("A", "B", "C");
        assertThat(outcome.progress().succeeded()).isEqualTo(3);
        assertThat(transport.finished).as("workers are told the batch is over").isTrue();
        // the second copies may arrive after completion: every copy that was polled was acked after storing
        assertThat(transport.events).isNotEmpty().containsOnly("ack-after-store");
    }

    /**
     * A redrive's round: the previous results of the kinds selected are dropped and their tasks published again, with
     * their ids; the others stay, byte for byte, and are neither published nor counted twice. A master restarted in the
     * round resumes it instead of preparing it again.
     */
    @Test
    void aRoundPublishesOnlyTheSelectedTasksAndKeepsTheOtherResults(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Path results = dir.resolve("results.jsonl");
        List<ResultMessage> previous = List.of(
                ResultMessage.succeeded(TaskMessage.first(0, "a"), "A", 1, "w0"),
                ResultMessage.failed(TaskMessage.first(1, "b"), "boom", 1, "w0"),
                ResultMessage.dead(TaskMessage.first(2, "c"), 3, "its workers died"),
                ResultMessage.cancelled(3, "d", "cancelled: stopped"),
                ResultMessage.succeeded(TaskMessage.first(4, "e"), "E", 1, "w0"));
        try (JsonLinesSink sink = new JsonLinesSink(new java.io.FileOutputStream(results.toFile()), true)) {
            for (ResultMessage r : previous) sink.write(r);
        }
        List<String> before = java.nio.file.Files.readAllLines(results);
        Round round = Round.of(1, List.of("failed", "cancelled"));

        MasterState state = MasterState.openRound(dir.resolve("state"), results, "q.b", round,
                () -> java.nio.file.Files.newBufferedReader(results));
        assertThat(state.resuming()).isTrue();
        assertThat(state.freshQueues()).as("a round starts on queues of its own").isTrue();
        assertThat(java.nio.file.Files.readAllLines(results)).as("the kept results, as they were")
                .containsExactly(before.get(0), before.get(2), before.get(4));

        CollectingSink sink = new CollectingSink();
        List<Long> published = new java.util.concurrent.CopyOnWriteArrayList<>();
        EchoTwiceTransport transport = new EchoTwiceTransport(sink) {
            @Override
            public void publish(TaskMessage task) {
                published.add(task.id());
                super.publish(task);
            }
        };
        Master master = master(1);
        master.resume(state.storedResults(), 0);
        BatchOutcome outcome = master.run(new ItemsSource(List.of("a", "b", "c", "d", "e")), transport, sink);

        assertThat(published).as("just the failed and the cancelled task, with their ids").containsExactly(1L, 3L);
        assertThat(sink.byId()).extracting(ResultMessage::id).containsExactly(1L, 3L);
        assertThat(outcome.progress().succeeded()).as("0 and 4 kept, 1 and 3 run again").isEqualTo(4);
        assertThat(outcome.progress().failed()).as("2, dead, not selected: kept").isEqualTo(1);
        assertThat(outcome.progress().dead()).isEqualTo(1);
        assertThat(outcome.progress().published()).isEqualTo(5);
        assertThat(outcome.succeeded()).isTrue();

        MasterState restarted = MasterState.openRound(dir.resolve("state"), results, "q.b", round,
                () -> { throw new AssertionError("a round under way is resumed, not prepared again"); });
        assertThat(restarted.resuming()).isTrue();
        assertThat(restarted.freshQueues()).isFalse();
    }

    /**
     * A forged or stray message on the results queue (issue 12: `{"id":999999,"status":"succeeded"}` completed a
     * batch in place of its real last task) is rejected and never counted or stored; the real results all are.
     */
    @Test
    void aResultThatIsNotOfTheBatchIsRejectedAndNeverCounted() throws Exception {
        CollectingSink sink = new CollectingSink();
        EchoTwiceTransport transport = new EchoTwiceTransport(sink);
        // before any real result: ids past the end (one just past, one that would grow the ledger to 128 MiB, one
        // beyond what a ledger can hold), a negative id, and an id of the batch without a status
        for (long id : new long[] {3, 999_999, 1L << 30, 1L << 40, -1}) {
            transport.results.add(new ResultMessage(id, "forged", ResultMessage.Status.SUCCEEDED, "forged", null, 1, 0,
                    "mallory", false, null));
        }
        transport.results.add(new ResultMessage(0, "a", null, "forged", null, 1, 0, "mallory", false, null));

        BatchOutcome outcome = master(0).run(new ItemsSource(List.of("a", "b", "c")), transport, sink);

        assertThat(outcome.succeeded()).isTrue();
        assertThat(sink.byId()).extracting(ResultMessage::output).as("only the real results, each once")
                .containsExactly("A", "B", "C");
        assertThat(outcome.progress().succeeded()).isEqualTo(3);
        assertThat(outcome.progress().rejected()).isEqualTo(6);
    }

    /**
     * Issue 12: when the failure policy stops a batch, every task without a result gets a {@code cancelled} line
     * with its input and the reason, so the results hold every id exactly once and a task that never ran is told
     * apart from a lost one.
     */
    @Test
    void tasksThatNeverRanWhenTheBatchStoppedAreCancelledWithTheirInputAndTheReason() throws Exception {
        CollectingSink sink = new CollectingSink();
        // "workers" that answer "ok" and "bad" at once and never answer "slow"
        MasterTransport transport = new EchoTwiceTransport(sink) {
            @Override
            public void publish(TaskMessage task) {
                switch (task.input()) {
                    case "ok" -> results.add(ResultMessage.succeeded(task, "fine", 0, "w"));
                    case "bad" -> results.add(ResultMessage.failed(task, "broke", 0, "w"));
                    default -> { }
                }
            }
        };
        // "bad" is the last input answered: every result before it is queued ahead of it, so the batch stops with
        // exactly those done whatever the threads' timing
        List<String> inputs = List.of("ok", "slow", "ok", "slow", "ok", "bad", "slow");

        BatchOutcome outcome = master(0).run(new ItemsSource(inputs), transport, sink);

        assertThat(outcome.succeeded()).isFalse();
        assertThat(outcome.reason()).contains("maxFailedTasks=0");
        List<ResultMessage> results = sink.byId();
        assertThat(results).extracting(ResultMessage::id).as("every id exactly once").containsExactly(0L, 1L, 2L, 3L, 4L, 5L, 6L);
        assertThat(results).extracting(ResultMessage::input).as("each with its input").containsExactlyElementsOf(inputs);
        assertThat(results).filteredOn(r -> r.input().equals("slow")).extracting(ResultMessage::status)
                .containsOnly(ResultMessage.Status.CANCELLED);
        assertThat(results).filteredOn(r -> r.status() == ResultMessage.Status.CANCELLED).extracting(ResultMessage::error)
                .allSatisfy(e -> assertThat(e).startsWith("cancelled: ").contains("maxFailedTasks=0"));
        assertThat(outcome.progress().cancelled()).isEqualTo(3);
        assertThat(outcome.progress().done()).as("cancelled is not done").isEqualTo(4);
    }

    @Test
    void anEmptySourceSucceedsAtOnce() throws Exception {
        CollectingSink sink = new CollectingSink();
        BatchOutcome outcome = master(0).run(new ItemsSource(List.of()), new EchoTwiceTransport(sink), sink);
        assertThat(outcome.succeeded()).isTrue();
        assertThat(outcome.progress().total()).isZero();
        assertThat(sink.byId()).isEmpty();
    }

    @Test
    void aSourceThatCannotBeReadFailsTheBatchWithTheReason() throws Exception {
        CollectingSink sink = new CollectingSink();
        LinesSource broken = new LinesSource("ConfigMap gone", "tasks.txt", true, () -> {
            throw new java.io.IOException("disk on fire");
        });
        BatchOutcome outcome = master(0).run(broken, new EchoTwiceTransport(sink), sink);
        assertThat(outcome.succeeded()).isFalse();
        assertThat(outcome.reason()).contains("ConfigMap gone").contains("disk on fire");
    }

    /** ids 0 a, 1 (0xff in column 2), 2 b, 3 (0xfe in column 1), 4 c; blank lines have no id. */
    private static final byte[] TWO_BAD_LINES = {'a', '\n', '\n', 'x', (byte) 0xff, '\n', 'b', '\n', (byte) 0xfe, '\n', 'c', '\n'};

    private static LinesSource lines(byte[] text) {
        return new LinesSource("file tasks.txt", "tasks.txt", true, () -> new java.io.ByteArrayInputStream(text));
    }

    /** A transport as {@link EchoTwiceTransport} that remembers which tasks were published. */
    static class RecordingTransport extends EchoTwiceTransport {
        final List<Long> published = java.util.Collections.synchronizedList(new ArrayList<>());

        RecordingTransport(CollectingSink sink) {
            super(sink);
        }

        @Override
        public void publish(TaskMessage task) {
            published.add(task.id());
            super.publish(task);
        }
    }

    /**
     * Issue 12, {@code sourceErrors: failTask}: a line that is not UTF-8 is a task in its place that fails without
     * ever being published, counted as failed, stored by the thread that stores every result (never the publisher's).
     */
    @Test
    void anUnreadableLineIsAFailedTaskTheMasterWritesWithoutPublishingIt() throws Exception {
        List<String> writers = java.util.Collections.synchronizedList(new ArrayList<>());
        CollectingSink sink = new CollectingSink() {
            @Override
            public void write(ResultMessage result) {
                writers.add(Thread.currentThread().getName());
                super.write(result);
            }
        };
        RecordingTransport transport = new RecordingTransport(sink);

        BatchOutcome outcome = master(2).run(lines(TWO_BAD_LINES), transport, sink);

        assertThat(outcome.succeeded()).as("2 failed tasks are within maxFailedTasks=2").isTrue();
        assertThat(transport.published).containsExactly(0L, 2L, 4L);
        List<ResultMessage> results = sink.byId();
        assertThat(results).extracting(ResultMessage::id).as("every id exactly once").containsExactly(0L, 1L, 2L, 3L, 4L);
        assertThat(results).extracting(ResultMessage::status).containsExactly(ResultMessage.Status.SUCCEEDED,
                ResultMessage.Status.FAILED, ResultMessage.Status.SUCCEEDED, ResultMessage.Status.FAILED, ResultMessage.Status.SUCCEEDED);
        assertThat(results.get(1)).extracting(ResultMessage::input, ResultMessage::attempts, ResultMessage::worker)
                .containsExactly(null, 0, null);
        assertThat(results.get(1).error()).startsWith("line 3 of tasks.txt is not valid UTF-8 (byte 0xff at column 2)");
        assertThat(results.get(3).error()).startsWith("line 5 of tasks.txt is not valid UTF-8 (byte 0xfe at column 1)");
        Progress p = outcome.progress();
        assertThat(List.of(p.total(), p.succeeded(), p.failed(), p.retried(), p.cancelled())).containsExactly(5L, 3L, 2L, 0L, 0L);
        assertThat(p.firstFailures()).extracting(ResultMessage::id).containsExactly(1L, 3L);
        assertThat(writers).as("only the collecting thread writes the sink").containsOnly(Thread.currentThread().getName());
    }

    /** An unreadable line counts against the failure policy like any failure; one the batch never reached still fails. */
    @Test
    @Timeout(30)
    void unreadableLinesCountAgainstTheFailurePolicy() throws Exception {
        CollectingSink sink = new CollectingSink();
        // task 0 fails at once; publishing task 2 waits until the batch stops, so the publisher never reaches task 3
        EchoTwiceTransport transport = new EchoTwiceTransport(sink) {
            @Override
            public void publish(TaskMessage task) {
                if (task.id() == 0) {
                    results.add(ResultMessage.failed(task, "broke", 0, "w"));
                    return;
                }
                try {
                    Thread.sleep(60_000);
                } catch (InterruptedException e) {
                    throw new IllegalStateException("stopped");
                }
            }
        };

        BatchOutcome outcome = master(1).run(lines(TWO_BAD_LINES), transport, sink);

        assertThat(outcome.succeeded()).isFalse();
        assertThat(outcome.reason()).isEqualTo("2 tasks failed, more than maxFailedTasks=1; the batch stopped");
        List<ResultMessage> results = sink.byId();
        assertThat(results).extracting(ResultMessage::id).as("every id exactly once").containsExactly(0L, 1L, 2L, 3L, 4L);
        assertThat(results).extracting(ResultMessage::status).containsExactly(ResultMessage.Status.FAILED,
                ResultMessage.Status.FAILED, ResultMessage.Status.CANCELLED, ResultMessage.Status.FAILED, ResultMessage.Status.CANCELLED);
        assertThat(results.get(3).error()).as("its own reason, not the batch's")
                .startsWith("line 5 of tasks.txt is not valid UTF-8");
        assertThat(results.get(4).input()).isEqualTo("c");
    }

    /**
     * A restarted master counts an unreadable line its predecessor stored once, and does not lose one whose result
     * was not stored yet although the checkpoint had passed it (the publisher runs ahead of the results).
     */
    @Test
    @Timeout(30) // losing a task would make the batch wait for it for ever
    void aResumedMasterCountsAnUnreadableLineOnceAndLosesNone() throws Exception {
        CollectingSink sink = new CollectingSink();
        RecordingTransport transport = new RecordingTransport(sink);
        // tasks 0 to 3 were confirmed: task 2 is still in the queue, and its result comes in now
        transport.results.add(ResultMessage.succeeded(TaskMessage.first(2, "b"), "B", 0, "w"));
        List<ResultMessage> stored = List.of(ResultMessage.succeeded(TaskMessage.first(0, "a"), "A", 0, "w"),
                ResultMessage.unreadable(1, "line 3 of tasks.txt is not valid UTF-8 (byte 0xff at column 2)"));
        Master master = master(5);
        master.resume(stored, 4);

        BatchOutcome outcome = master.run(lines(TWO_BAD_LINES), transport, sink);

        assertThat(outcome.succeeded()).isTrue();
        assertThat(transport.published).as("only what the checkpoint had not passed").containsExactly(4L);
        assertThat(sink.byId()).extracting(ResultMessage::id).as("what the first master had not stored, once")
                .containsExactly(2L, 3L, 4L);
        assertThat(sink.byId().get(1).status()).isEqualTo(ResultMessage.Status.FAILED);
        Progress p = outcome.progress();
        assertThat(List.of(p.total(), p.published(), p.succeeded(), p.failed())).containsExactly(5L, 5L, 3L, 2L);
    }

    @Test
    void aMasterThatCannotStoreResultsLeavesTheBatchToBeResumed() throws Exception {
        CollectingSink full = new CollectingSink() {
            @Override
            public void write(ResultMessage result) {
                throw new java.io.UncheckedIOException(new java.io.IOException("No space left on device"));
            }
        };
        EchoTwiceTransport transport = new EchoTwiceTransport(full);
        org.assertj.core.api.Assertions.assertThatThrownBy(
                () -> master(0).run(new ItemsSource(List.of("a")), transport, full)).hasMessageContaining("No space left");
        assertThat(transport.finished).as("the workers are not told the batch is over").isFalse();
        assertThat(transport.events).as("nothing was acknowledged").isEmpty();
    }

    /** Answers every task but the first copy of task 1, which it holds where no answer will come from. */
    static class SwallowingTransport extends EchoTwiceTransport {
        final List<Long> published = new java.util.concurrent.CopyOnWriteArrayList<>();
        final boolean tasksWaiting;

        SwallowingTransport(CollectingSink sink, boolean tasksWaiting) {
            super(sink);
            this.tasksWaiting = tasksWaiting;
        }

        @Override
        public void publish(TaskMessage task) {
            boolean swallowed = task.id() == 1 && !published.contains(1L);
            published.add(task.id());
            if (!swallowed) super.publish(task);
        }

        @Override
        public boolean tasksWaiting() {
            return tasksWaiting;
        }
    }

    /**
     * A task held where no answer will come from (RabbitMQ keeping a dead node's delivery checked out): once every task
     * is published, no result came for the stall limit and none waits in the queues, it is published again and the
     * batch completes, each task counted once.
     */
    @Test
    @Timeout(10)
    void aTaskHeldWhereNoAnswerComesFromIsPublishedAgainOnceTheBatchStalls() throws Exception {
        CollectingSink sink = new CollectingSink();
        SwallowingTransport transport = new SwallowingTransport(sink, false);
        Master master = stallingMaster(Duration.ofMillis(300));
        long start = System.nanoTime();
        BatchOutcome outcome = master.run(new ItemsSource(List.of("a", "b", "c")), transport, sink);
        assertThat(outcome.succeeded()).isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("not before the stall limit").isGreaterThan(Duration.ofMillis(300));
        assertThat(transport.published).containsExactly(0L, 1L, 2L, 1L);
        assertThat(sink.byId()).extracting(ResultMessage::id).containsExactly(0L, 1L, 2L);
        assertThat(outcome.progress().duplicates()).as("each answer counted once").isEqualTo(3);
    }

    /** While a task waits in the queues (a retry's delay, workers not there yet), a quiet batch is slow, not stalled. */
    @Test
    @Timeout(10)
    void aQuietBatchWithTasksWaitingPublishesNothingAgain() throws Exception {
        CollectingSink sink = new CollectingSink();
        SwallowingTransport transport = new SwallowingTransport(sink, true);
        Master master = stallingMaster(Duration.ofMillis(100));
        Thread.ofPlatform().daemon().start(() -> {
            try {
                Thread.sleep(1_000);
            } catch (InterruptedException e) {
                return;
            }
            master.stop("test over");
        });
        BatchOutcome outcome = master.run(new ItemsSource(List.of("a", "b", "c")), transport, sink);
        assertThat(outcome.succeeded()).isFalse();
        assertThat(transport.published).as("published once each").containsExactly(0L, 1L, 2L);
    }
}
