package io.taskbatch.it;

import static io.taskbatch.it.BrokerFaultsIT.assertEveryIdExactlyOnce;
import static io.taskbatch.it.BrokerFaultsIT.sleepBatch;
import static io.taskbatch.it.JarProcesses.await;
import static io.taskbatch.it.JarProcesses.exitOf;
import static io.taskbatch.it.JarProcesses.lines;
import static io.taskbatch.it.JarProcesses.results;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbatch.queue.amqp.BatchQueues;
import io.taskbatch.testing.RabbitCluster;
import io.taskbatch.testing.RabbitNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * spec.queues.shards on a real 3-node RabbitMQ cluster (private nodes on loopback), with the packaged jar's master
 * and worker processes given every node in one URI: exact counts with K = 3, also when the node leading a shard is
 * SIGKILLed mid-batch.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ShardedClusterIT {
    private static final Duration BATCH_TIMEOUT = Duration.ofMinutes(2);
    private static final String SHARDS = "  queues: {shards: 3}\n";
    private static RabbitCluster cluster;

    @TempDir
    Path dir;

    @BeforeAll
    static void startCluster() {
        cluster = RabbitCluster.start(3);
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) cluster.close();
    }

    private static String tail(String log) {
        return log.length() > 15_000 ? log.substring(log.length() - 15_000) : log;
    }

    @Test
    @Order(1)
    void threeShardsCountEveryTaskOnceAndTheBrokerSpreadsTheirLeaders() throws Exception {
        try (JarProcesses jar = new JarProcesses(dir, cluster.amqpUri())) {
            Path manifest = jar.manifest("spread", sleepBatch("spread", 3_000, 1, SHARDS));
            Path out = dir.resolve("spread.jsonl");
            Process master = jar.master("master", manifest, "--output", out.toString(), "--keep-queues");
            jar.worker("worker-a", manifest, 2);
            jar.worker("worker-b", manifest, 2);
            assertThat(exitOf(master, BATCH_TIMEOUT)).as(jar.log("master")).isZero();
            List<JsonNode> results = results(out);
            assertEveryIdExactlyOnce(results, 3_000);
            assertThat(results).allMatch(r -> r.get("status").asText().equals("succeeded"));

            BatchQueues queues = BatchQueues.of(null, "spread", null).withShards(3);
            Map<String, RabbitNode> leaders = cluster.leaders();
            List<String> shardQueues = IntStream.range(0, 3).boxed()
                    .flatMap(i -> java.util.stream.Stream.of(queues.tasks(i), queues.results(i))).toList();
            assertThat(leaders).as("every shard's task and result queue is a quorum queue of the cluster")
                    .containsKeys(shardQueues.toArray(String[]::new));
            Set<String> taskLeaders = IntStream.range(0, 3).mapToObj(i -> leaders.get(queues.tasks(i)).nodeName())
                    .collect(Collectors.toSet());
            // client-local (the broker's default) would put all three on the master's node
            assertThat(taskLeaders).as("each task shard leads from a node of its own (x-queue-leader-locator: balanced)")
                    .hasSize(3);
            Set<String> allLeaders = shardQueues.stream().map(q -> leaders.get(q).nodeName()).collect(Collectors.toSet());
            assertThat(allLeaders).as("the six shard queues lead from every node").hasSize(3);
        }
    }

    @Test
    @Order(2)
    void killingTheNodeThatLeadsAShardMidBatchLosesNothingAndCountsNothingTwice() throws Exception {
        try (JarProcesses jar = new JarProcesses(dir, cluster.amqpUri())) {
            // a node's death returns the tasks in flight through the lost connection and the recovering channels, and the
            // quorum queue counts each return against the delivery limit, also returns no worker sees (seen at 4
            // deliveries): the batch has a few more attempts than the default, as README advises, and would go on past a
            // task dead at its limit, so that the counts below are checked whatever happens
            Path manifest = jar.manifest("nodekill", sleepBatch("nodekill", 6_000, 5, SHARDS
                    + "  retry: {maxAttempts: 10}\n  failurePolicy: {maxFailedTasks: 6000}\n  taskTimeout: 5s\n"));
            Path out = dir.resolve("nodekill.jsonl");
            Process master = jar.master("master", manifest, "--output", out.toString(), "--keep-queues");
            Map<String, String> debug = Map.of("QUARKUS_LOG_CATEGORY__IO_TASKBATCH_QUEUE__LEVEL", "DEBUG");
            jar.start("worker-a", debug, "worker", "--manifest", manifest.toString(), "--slots", "2");
            jar.start("worker-b", debug, "worker", "--manifest", manifest.toString(), "--slots", "2");
            String shard = BatchQueues.of(null, "nodekill", null).withShards(3).tasks(1);
            // the victim is found before the batch is under way: asking the cluster takes seconds on a loaded machine, and
            // asked after the first thousand results it once answered when all 6,000 were in (CI, stop 21)
            await(Duration.ofSeconds(90), "the master declared " + shard,
                    () -> cluster.leaders().containsKey(shard) || !master.isAlive());
            RabbitNode victim = cluster.leaders().get(shard);
            assertThat(victim).as("a node leads " + shard + "\n" + jar.log("master")).isNotNull();
            await(Duration.ofSeconds(90), "the batch is under way", () -> lines(out) > 1_000 || !master.isAlive());
            assertThat(master.isAlive()).as("the batch still runs when the node is killed").isTrue();
            long before = lines(out);
            victim.kill(); // SIGKILL: its replicas, connections and unacknowledged deliveries are gone at once
            await(Duration.ofSeconds(90), "the batch goes on while the node is down",
                    () -> lines(out) >= Math.min(6_000, before + 2_000) || !master.isAlive());
            assertThat(lines(out)).as("results kept coming with the node down").isGreaterThanOrEqualTo(Math.min(6_000, before + 2_000));
            assertThat(cluster.leaders().get(shard)).as("a surviving node leads " + shard + " while the old leader is down")
                    .isNotNull().isNotSameAs(victim);
            // what a worker held through a connection to the dead node stays checked out to that connection's consumers
            // until the node is back (RabbitMQ 3.10 keeps them as suspected down): it restarts, as its pod would. At times
            // some stay checked out to a consumer that no longer exists even then (seen in 1 of 2 runs here, and 2 of 7
            // before): the master publishes those again once the batch stalls (taskTimeout 5 s: after 20 s)
            victim.startAgain();

            if (!master.waitFor(BATCH_TIMEOUT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
                throw new AssertionError("the batch did not end after " + victim.nodeName() + " was killed (" + lines(out)
                        + " results); queues: " + cluster.anyRunning().rabbitmqctl("list_queues", "-q", "name", "messages_ready",
                        "messages_unacknowledged", "consumers", "leader") + "\nconsumers: "
                        + cluster.anyRunning().rabbitmqctl("list_consumers", "-q", "queue_name", "channel_pid", "consumer_tag",
                        "prefetch_count", "active") + "\nchannels: " + cluster.anyRunning().rabbitmqctl("list_channels", "-q", "pid",
                        "connection", "consumer_count", "messages_unacknowledged")
                        + "\nmaster: " + tail(jar.log("master"))
                        + "\nworker-a: " + tail(jar.log("worker-a")) + "\nworker-b: " + tail(jar.log("worker-b")));
            }
            assertThat(master.exitValue()).as(jar.log("master")).isZero();
            assertThat(before).as("the node died mid-batch").isLessThan(6_000);
            List<JsonNode> results = results(out);
            assertEveryIdExactlyOnce(results, 6_000);
            List<JsonNode> notSucceeded = results.stream().filter(r -> !r.get("status").asText().equals("succeeded")).toList();
            assertThat(notSucceeded).as("no task dead at its delivery limit: a refused result is published again, not its task "
                    + "returned (once 192 refusals in one run), and a slot's prefetch change charges nothing").isEmpty();
        }
    }
}
