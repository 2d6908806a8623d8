package io.taskbatch.queue.amqp;

import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.taskbatch.metrics.MetricNames;
import io.taskbatch.metrics.WorkerMetrics;
import io.taskbatch.queue.ResultMessage;
import io.taskbatch.queue.TaskMessage;
import io.taskbatch.queue.WorkerTransport.TaskDelivery;
import io.taskbatch.queue.WorkerTransport.TaskInbox;
import io.taskbatch.testing.RabbitExtension;
import io.taskbatch.testing.RabbitNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A worker's transport against a real (private) RabbitMQ: how it sends results, and what it does when the broker fails. */
class AmqpWorkerTransportIT {
    @RegisterExtension
    // queue statistics every 500 ms (default 5 s), so list_queues shows what the worker holds right now
    static final RabbitExtension RABBIT = new RabbitExtension(RabbitNode.builder().config("collect_statistics_interval", "500"));

    /**
     * A slot gathers its results into one message, but never holds them behind a long task: the results of the quick
     * tasks it finished go out (and their tasks are acknowledged) while the next one is still running.
     */
    @Test
    void resultsAreNotHeldBackWhileTheSlotRunsItsNextTask() throws Exception {
        BrokerAddress broker = BrokerAddress.of(RABBIT.node().amqpUri());
        BatchQueues queues = BatchQueues.of(null, "gathered", null);
        int tasks = 4;
        declareWithTasks(broker, queues, tasks);
        try (AmqpWorkerTransport worker = new AmqpWorkerTransport(broker, queues, "w", tasks, Duration.ofMinutes(5));
             Connection c = broker.newConnection("test-master"); Channel ch = c.createChannel()) {
            assertThat(worker.awaitReady(new BrokerWait(Duration.ofSeconds(10), line -> { }), "gathered")).isTrue();
            TaskInbox inbox = worker.openInbox();
            for (int i = 0; i < tasks - 1; i++) {
                TaskDelivery d = inbox.take(Duration.ofSeconds(10));
                d.complete(ResultMessage.succeeded(d.task(), "ok", 1, "w"));
            }
            TaskDelivery running = inbox.take(Duration.ofSeconds(10)); // and runs for as long as the test lasts
            assertThat(running).isNotNull();
            List<Long> published = new ArrayList<>();
            await(() -> drainResults(ch, queues, published) >= tasks - 1, "the finished tasks' results are published");
            assertThat(published).containsExactlyInAnyOrder(1L, 2L, 3L);
            await(() -> messages(queues.tasks()) == 1, "their tasks are acknowledged; the running one is held");
        }
    }

    /**
     * With K shards a slot sends its result messages to the K result queues in turn, so that the results of a sharded
     * batch do not all pass through one queue's leader (they all went to the first shard).
     */
    @Test
    void aSlotSendsItsResultMessagesToTheResultShardsInTurn() throws Exception {
        BrokerAddress broker = BrokerAddress.of(RABBIT.node().amqpUri());
        BatchQueues queues = BatchQueues.of(null, "spread", null).withShards(3);
        declareWithTasks(broker, queues, 3);
        try (AmqpWorkerTransport worker = new AmqpWorkerTransport(broker, queues, "w", 3, Duration.ofMinutes(5))) {
            assertThat(worker.awaitReady(new BrokerWait(Duration.ofSeconds(10), line -> { }), "spread")).isTrue();
            TaskInbox inbox = worker.openInbox();
            for (int sent = 1; sent <= 3; sent++) {
                TaskDelivery d = inbox.take(Duration.ofSeconds(10));
                assertThat(d).isNotNull();
                d.complete(ResultMessage.succeeded(d.task(), "ok", 1, "w"));
                int expected = sent;
                await(() -> messages(queues.results(0)) + messages(queues.results(1)) + messages(queues.results(2)) == expected,
                        "result message " + sent + " is on the broker");
            }
            for (int shard = 0; shard < 3; shard++) {
                assertThat(messages(queues.results(shard))).as("messages in result shard %d", shard).isEqualTo(1);
            }
        }
    }

    /**
     * The broker drops the worker's connection while a slot runs one task and holds another: both come back once, as
     * ordinary tasks, uncharged. A worker that lost its connection did not die: its tasks are no suspects (run alone,
     * delivery-limited on their own), and what the loss cost them does not count towards their delivery limit.
     */
    @Test
    void tasksHeldWhenTheBrokerDropsTheConnectionComeBackOnceAsOrdinaryTasks() throws Exception {
        BrokerAddress broker = BrokerAddress.of(RABBIT.node().amqpUri());
        BatchQueues queues = BatchQueues.of(null, "lost", null);
        declareWithTasks(broker, queues, 2);
        try (AmqpWorkerTransport worker = new AmqpWorkerTransport(broker, queues, "w", 2, Duration.ofMinutes(5))) {
            assertThat(worker.awaitReady(new BrokerWait(Duration.ofSeconds(10), line -> { }), "lost")).isTrue();
            TaskInbox inbox = worker.openInbox();
            TaskDelivery running = inbox.take(Duration.ofSeconds(10));
            assertThat(running).as("the first task").isNotNull();
            await(() -> RABBIT.node().rabbitmqctl("list_queues", "-q", "name", "messages_unacknowledged").lines()
                    .anyMatch(l -> l.matches(java.util.regex.Pattern.quote(queues.tasks()) + "\\s+2")), "the slot holds both tasks");

            RABBIT.node().rabbitmqctl("close_all_connections", "test: the broker drops the worker's connection");

            List<TaskDelivery> again = new ArrayList<>();
            long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (again.size() < 2 && System.nanoTime() < end) {
                TaskDelivery d = inbox.take(Duration.ofMillis(200));
                if (d != null) again.add(d);
            }
            assertThat(again).as("both tasks came back to the worker, as ordinary tasks (suspects are taken elsewhere)")
                    .extracting(d -> d.task().id()).containsExactlyInAnyOrder(1L, 2L);
            assertThat(again).as("uncharged: a copy, delivered for the first time").allMatch(d -> d.deliveryCount() == 1);
            try (Connection c = broker.newConnection("test-probe"); Channel probe = c.createChannel()) {
                assertThat(probe.queueDeclarePassive(queues.suspects()).getMessageCount()).as("no suspects").isZero();
            }
            assertThat(inbox.take(Duration.ofSeconds(2))).as("each task came back once").isNull();
        }
    }

    /**
     * A task returned by a worker that died goes to the suspects as it arrives, not when its slot reaches it: held in the
     * buffer of a slot busy with a long task, or while the worker's first slot runs a suspect alone, it was charged again
     * by every death of this worker meanwhile, and an innocent task went dead at its delivery limit (CI: four deaths of
     * one poison task, {@code maxAttempts: 3}).
     */
    @Test
    void aTaskReturnedByADeadWorkerBecomesASuspectAsItArrivesWhileItsSlotIsBusy() throws Exception {
        BrokerAddress broker = BrokerAddress.of(RABBIT.node().amqpUri());
        BatchQueues queues = BatchQueues.of(null, "returned", null);
        declareWithTasks(broker, queues, 1);
        // a worker that died holding it: delivered, never acknowledged, returned (charged) when its connection went
        try (Connection dead = broker.newConnection("test-dead-worker"); Channel ch = dead.createChannel()) {
            assertThat(ch.basicGet(queues.tasks(), false)).as("the task, delivered to the worker that dies").isNotNull();
        }
        try (AmqpWorkerTransport worker = new AmqpWorkerTransport(broker, queues, "w", 2, Duration.ofMinutes(5))) {
            assertThat(worker.awaitReady(new BrokerWait(Duration.ofSeconds(10), line -> { }), "returned")).isTrue();
            TaskInbox inbox = worker.openInbox(); // subscribed; its slot takes nothing (it runs something long)
            await(() -> messages(queues.suspects()) == 1 && messages(queues.tasks()) == 0,
                    "the returned task waits in the suspects, its original acknowledged");
            assertThat(inbox.take(Duration.ofSeconds(1))).as("nothing left for the slot").isNull();
        }
    }

    /**
     * The broker refuses (nacks) a slot's results for a while, as a quorum queue does while it has no leader or is full:
     * each result goes out again until the broker takes it, and its task stays with the worker meanwhile. Rejecting the
     * task instead charged it a delivery per refusal, and a task that ran well could end dead at its delivery limit.
     */
    @Test
    void resultsTheBrokerRefusesArePublishedAgainWithoutChargingTheirTasks() throws Exception {
        BrokerAddress broker = BrokerAddress.of(RABBIT.node().amqpUri());
        BatchQueues queues = BatchQueues.of(null, "nacked", null);
        int tasks = 5;
        declareWithTasks(broker, queues, tasks);
        // a result queue over its length limit, that refuses what comes: the broker nacks every result
        int limit = 2 * tasks;
        try (Connection c = broker.newConnection("test-filler"); Channel ch = c.createChannel()) {
            ch.confirmSelect();
            for (int i = 0; i <= limit; i++) ch.basicPublish("", queues.results(), null, "filler".getBytes());
            ch.waitForConfirmsOrDie(10_000);
        }
        RABBIT.node().rabbitmqctl("set_policy", "--apply-to", "queues", "full-results",
                "^" + java.util.regex.Pattern.quote(queues.results()) + "$",
                "{\"max-length\":" + limit + ",\"overflow\":\"reject-publish\"}");
        await(() -> RABBIT.node().rabbitmqctl("list_queues", "-q", "name", "policy").contains("full-results"), "the policy applies");
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (AmqpWorkerTransport worker = new AmqpWorkerTransport(broker, queues, "w", tasks, Duration.ofMinutes(5))) {
            worker.measure(new WorkerMetrics(registry, "default", "nacked", "echo"));
            assertThat(worker.awaitReady(new BrokerWait(Duration.ofSeconds(10), line -> { }), "nacked")).isTrue();
            TaskInbox inbox = worker.openInbox();
            for (int i = 0; i < tasks; i++) {
                TaskDelivery d = inbox.take(Duration.ofSeconds(10));
                assertThat(d).as("task %d of %d", i + 1, tasks).isNotNull();
                assertThat(d.deliveryCount()).isEqualTo(1);
                d.complete(ResultMessage.succeeded(d.task(), "ok", 1, "w"));
            }
            await(() -> registry.find(MetricNames.WORKER_RESULTS_CONFIRMED).tag("confirm", "nacked").counter().count() >= 2 * tasks,
                    "each refused result was published again (and refused again)");
            assertThat(inbox.take(Duration.ofSeconds(1))).as("no task came back while its result was refused").isNull();
            assertThat(messages(queues.suspects())).as("no task charged a delivery (it would be a suspect now)").isZero();

            // room again: the queue tells its publishers once it is below its limit
            try (Connection c = broker.newConnection("test-drain"); Channel ch = c.createChannel()) {
                for (int i = 0; i <= limit; i++) assertThat(new String(ch.basicGet(queues.results(), true).getBody())).isEqualTo("filler");
            }
            List<Long> published = new ArrayList<>();
            try (Connection c = broker.newConnection("test-drain"); Channel ch = c.createChannel()) {
                await(() -> drainResults(ch, queues, published) >= tasks, "every result is in the result queue");
            }
            assertThat(published).as("every result, once").containsExactlyInAnyOrder(1L, 2L, 3L, 4L, 5L);
            await(() -> messages(queues.tasks()) == 0, "every task is acknowledged");
            assertThat(inbox.take(Duration.ofSeconds(2))).as("no task delivered again").isNull();
            assertThat(messages(queues.suspects())).as("no suspects").isZero();
            assertThat(messages(queues.dead())).as("nothing dead").isZero();
        }
    }

    /** Declares the batch's queues and publishes tasks 1 to {@code tasks}, as a master does. */
    private static void declareWithTasks(BrokerAddress broker, BatchQueues queues, int tasks) throws Exception {
        try (Connection master = broker.newConnection("test-master"); Channel ch = master.createChannel()) {
            queues.declare(ch, 3, List.of(Duration.ofSeconds(1)));
            for (long id = 1; id <= tasks; id++) {
                TaskMessage task = new TaskMessage(id, 1, Long.toString(id), Map.of());
                ch.basicPublish("", queues.tasks(), MessageCodec.taskProperties(task), MessageCodec.encode(task));
            }
        }
    }

    /**
     * Takes what the result queue holds now, each message one of several results (as a worker sends them), and adds
     * their ids to {@code ids}; returns how many ids it holds then.
     */
    private static int drainResults(Channel ch, BatchQueues queues, List<Long> ids) {
        try {
            for (var got = ch.basicGet(queues.results(), true); got != null; got = ch.basicGet(queues.results(), true)) {
                assertThat(got.getProps().getType()).isEqualTo(MessageCodec.RESULTS_TYPE);
                MessageCodec.decodeResults(got.getBody(), bad -> { throw new AssertionError(bad); }).forEach(r -> ids.add(r.id()));
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return ids.size();
    }

    /** Messages in {@code queue}, ready or delivered and unacknowledged; -1 when there is no such queue. */
    private static long messages(String queue) {
        return RABBIT.node().rabbitmqctl("list_queues", "-q", "name", "messages").lines().map(l -> l.trim().split("\\s+"))
                .filter(f -> f.length == 2 && f[0].equals(queue)).mapToLong(f -> Long.parseLong(f[1])).findFirst().orElse(-1);
    }

    private static void await(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting until " + what + "; the broker's queues:\n"
                        + RABBIT.node().rabbitmqctl("list_queues", "-q", "name", "messages", "messages_unacknowledged", "policy"));
            }
            Thread.sleep(100);
        }
    }
}
