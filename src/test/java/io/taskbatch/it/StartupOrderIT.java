package io.taskbatch.it;

import static io.taskbatch.it.JarProcesses.await;
import static io.taskbatch.it.JarProcesses.exitOf;
import static io.taskbatch.it.JarProcesses.results;
import static org.assertj.core.api.Assertions.assertThat;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import io.taskbatch.queue.amqp.BatchQueues;
import io.taskbatch.testing.RabbitExtension;
import io.taskbatch.testing.RabbitNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Roles started in any order, as a kubelet does: before the master, before the broker. Real
 * processes of the packaged jar, a real (private) RabbitMQ; each ends with exact counts.
 */
class StartupOrderIT {
    private static final Duration BATCH_TIMEOUT = Duration.ofSeconds(90);

    @RegisterExtension
    static final RabbitExtension RABBIT = new RabbitExtension();

    @TempDir
    Path dir;

    private static String batch(String name, int n) {
        return BrokerFaultsIT.sleepBatch(name, n, 1, "  retry: {maxAttempts: 3, backoff: 10ms}\n");
    }

    /** A worker's log says nothing about the wait but its two lines: no stack trace, no line per poll. */
    private static void assertQuietWait(String log, String waitingLine) {
        assertThat(log).as(log).containsOnlyOnce(waitingLine).doesNotContain("\tat ").doesNotContain("Exception")
                .doesNotContain("NOT_FOUND").doesNotContain("died");
    }

    @Test
    void workersStartedBeforeTheMasterWaitForTheWholeTopologyAndTheBatchCompletes(RabbitNode rabbit) throws Exception {
        try (JarProcesses jar = new JarProcesses(dir, rabbit.amqpUri())) {
            Path manifest = jar.manifest("early", batch("early", 300));
            Path out = dir.resolve("early.jsonl");
            BatchQueues queues = BatchQueues.of(null, "early", null);
            // the fault: the task queue is there before the rest of the topology (a master that declared
            // it and died, as the old declaration order allowed); the real master then starts afresh and
            // deletes and declares everything again
            ConnectionFactory factory = new ConnectionFactory();
            factory.setUri(rabbit.amqpUri());
            try (Connection c = factory.newConnection(); Channel ch = c.createChannel()) {
                ch.queueDeclare(queues.tasks(), true, false, false, Map.of("x-queue-type", "quorum"));
            }
            Process w1 = jar.worker("w1", manifest, 2);
            Process w2 = jar.worker("w2", manifest, 2);
            String waiting = "waiting for the master to declare the queues of local/early";
            await(Duration.ofSeconds(60), "both workers wait", () -> log(jar, "w1").contains(waiting) && log(jar, "w2").contains(waiting));
            Thread.sleep(3000);
            Process master = jar.master("master", manifest, "--output", out.toString());
            assertThat(exitOf(master, BATCH_TIMEOUT)).as(jar.log("master")).isZero();
            BrokerFaultsIT.assertEveryIdExactlyOnce(results(out), 300);
            assertThat(exitOf(w1, Duration.ofSeconds(30))).as(jar.log("w1")).isZero();
            assertThat(exitOf(w2, Duration.ofSeconds(30))).as(jar.log("w2")).isZero();
            // each waited quietly and then either ran tasks or, its back-off (up to 10 s) outlasting the short
            // batch, found it over; the batch ran, so at least one of them found the queues ready
            int ran = 0;
            for (String w : new String[] {"w1", "w2"}) {
                assertQuietWait(jar.log(w), waiting);
                assertThat(jar.log(w)).containsPattern("the queues of local/early are ready after [0-9.]+ s"
                        + "|batch local/early is over after [0-9.]+ s");
                if (jar.log(w).matches("(?s).*the queues of local/early are ready after [0-9.]+ s.*")) ran++;
            }
            assertThat(ran).as("workers that found the queues ready").isPositive();
            // a worker that comes after the batch is over exits 0 at once
            Process late = jar.worker("late", manifest, 1);
            assertThat(exitOf(late, Duration.ofSeconds(30))).as(jar.log("late")).isZero();
            assertThat(jar.log("late")).contains("batch local/early is already over").doesNotContain("waiting");
        }
    }

    @Test
    void masterAndWorkerStartedWhileTheBrokerIsDownWaitForItAndTheBatchCompletes(RabbitNode rabbit) throws Exception {
        try (JarProcesses jar = new JarProcesses(dir, rabbit.amqpUri())) {
            Path manifest = jar.manifest("nobroker", batch("nobroker", 300));
            Path out = dir.resolve("nobroker.jsonl");
            rabbit.stop();
            Process master;
            Process worker;
            Process impatient;
            try {
                master = jar.master("master", manifest, "--output", out.toString());
                worker = jar.worker("worker", manifest, 2);
                impatient = jar.master("impatient", manifest, "--output", dir.resolve("impatient.jsonl").toString(),
                        "--broker-wait", "2s");
                await(Duration.ofSeconds(60), "both roles wait for the broker",
                        () -> log(jar, "master").contains("cannot reach") && log(jar, "worker").contains("cannot reach"));
                assertThat(exitOf(impatient, Duration.ofSeconds(30))).as(jar.log("impatient")).isEqualTo(3);
                Thread.sleep(5000);
            } finally {
                rabbit.startAgain();
            }
            assertThat(exitOf(master, BATCH_TIMEOUT)).as(jar.log("master")).isZero();
            assertThat(exitOf(worker, Duration.ofSeconds(30))).as(jar.log("worker")).isZero();
            BrokerFaultsIT.assertEveryIdExactlyOnce(results(out), 300);
            String where = "amqp://guest:***@127.0.0.1:" + rabbit.port() + "/%2F";
            String refused = "cannot reach the broker at " + where + " (Connection refused); retrying in ";
            for (String role : new String[] {"master", "worker"}) {
                assertQuietWait(jar.log(role), refused);
                assertThat(jar.log(role)).contains("Check that the broker runs")
                        .containsPattern("reached the broker at " + java.util.regex.Pattern.quote(where) + " after [0-9.]+ s");
            }
            assertThat(jar.log("impatient")).containsPattern("cannot reach the broker at " + java.util.regex.Pattern.quote(where)
                    + " \\(Connection refused\\); gave up after [0-9.]+ s \\(--broker-wait 2 s\\)").doesNotContain("\tat ");
        }
    }

    /**
     * Two runs of one batch name on one broker (issue 12): the second master is refused at once with a message that
     * says why, instead of deleting the first one's queues from under it; a {@code master} waits for the lock within
     * its --broker-wait; the first batch completes with every id once.
     */
    @Test
    void aSecondMasterOfTheSameBatchIsRefusedAndTheFirstCompletes(RabbitNode rabbit) throws Exception {
        try (JarProcesses jar = new JarProcesses(dir, rabbit.amqpUri())) {
            Path manifest = jar.manifest("twin", BrokerFaultsIT.sleepBatch("twin", 1500, 20, ""));
            Path out = dir.resolve("twin.jsonl");
            Process first = jar.start("first", "run", manifest.toString(), "--broker", rabbit.amqpUri(), "--output",
                    out.toString(), "--progress", "none");
            await(Duration.ofSeconds(60), "the first batch is under way", () -> JarProcesses.lines(out) > 0);
            Process second = jar.start("second", "run", manifest.toString(), "--broker", rabbit.amqpUri(), "--output",
                    dir.resolve("second.jsonl").toString(), "--progress", "none");
            assertThat(exitOf(second, Duration.ofSeconds(60))).as(jar.log("second")).isEqualTo(3);
            assertThat(jar.log("second")).contains("another master is running this batch on the broker")
                    .contains("taskbatch.local.twin.master").doesNotContain("\tat ");
            Process patient = jar.master("patient", manifest, "--output", dir.resolve("patient.jsonl").toString(),
                    "--broker-wait", "2s");
            assertThat(exitOf(patient, Duration.ofSeconds(60))).as(jar.log("patient")).isEqualTo(3);
            assertThat(jar.log("patient")).contains("waiting for it to end");
            assertThat(exitOf(first, BATCH_TIMEOUT)).as(jar.log("first")).isZero();
            BrokerFaultsIT.assertEveryIdExactlyOnce(results(out), 1500);
            assertThat(JarProcesses.lines(dir.resolve("second.jsonl"))).as("the refused run wrote nothing").isZero();
        }
    }

    @Test
    void refusedCredentialsAreNotWaitedFor(RabbitNode rabbit) throws Exception {
        try (JarProcesses jar = new JarProcesses(dir, rabbit.amqpUri())) {
            Path manifest = jar.manifest("badpass", batch("badpass", 3));
            String wrong = "amqp://guest:wrong@127.0.0.1:" + rabbit.port() + "/%2F";
            Process master = jar.master("master", manifest, "--broker", wrong);
            Process worker = jar.start("worker", "worker", "--manifest", manifest.toString(), "--broker", wrong);
            assertThat(exitOf(master, Duration.ofSeconds(30))).as(jar.log("master")).isEqualTo(2);
            assertThat(exitOf(worker, Duration.ofSeconds(30))).as(jar.log("worker")).isEqualTo(2);
            for (String role : new String[] {"master", "worker"}) {
                assertThat(jar.log(role)).contains("the broker at amqp://guest:***@127.0.0.1:" + rabbit.port()
                                + "/%2F refused us: ACCESS_REFUSED")
                        .contains("This is not transient: check the user and password in the broker URI")
                        .doesNotContain("wrong").doesNotContain("retrying").doesNotContain("\tat ");
            }
        }
    }

    @Test
    void aWaitingWorkerObeysSigterm(RabbitNode rabbit) throws Exception {
        try (JarProcesses jar = new JarProcesses(dir, rabbit.amqpUri())) {
            Path manifest = jar.manifest("nomaster", batch("nomaster", 3));
            Process worker = jar.worker("worker", manifest, 1);
            await(Duration.ofSeconds(60), "the worker waits", () -> log(jar, "worker").contains("waiting for the master"));
            long start = System.nanoTime();
            worker.destroy(); // SIGTERM
            assertThat(worker.waitFor(10, TimeUnit.SECONDS)).as("stopped promptly").isTrue();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
            assertThat(jar.log("worker")).doesNotContain("\tat ");
        }
    }

    private static String log(JarProcesses jar, String name) {
        try {
            return jar.log(name);
        } catch (java.io.IOException e) {
            return "";
        }
    }
}
