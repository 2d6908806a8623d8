package io.taskbatch.cli;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import io.taskbatch.master.BatchOutcome;
import io.taskbatch.master.JsonLinesSink;
import io.taskbatch.master.Master;
import io.taskbatch.master.ProgressListener;
import io.taskbatch.master.ResultSink;
import io.taskbatch.queue.amqp.AmqpMasterTransport;
import io.taskbatch.queue.amqp.BatchQueues;
import io.taskbatch.queue.amqp.BrokerAddress;
import io.taskbatch.worker.TaskHandlers;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The K-shard part of {@code bench --broker}: the same batch of trivial tasks with spec.queues.shards = 1, 2 and 3,
 * in tasks per second from the master's start (workers already consuming). Shards pay off only on a cluster, each
 * shard's leaders on another node: give the bench every node in the URI
 * ({@code amqp://user:pw@node-0,node-1,node-2/vhost}). On one node they share that node's cores and show the cost.
 */
final class ShardBench {
    private static final int MAX_SHARDS = 3;
    private static final int WORKER_PROCESSES = 2;

    private final BrokerAddress broker;
    private final TaskHandlers handlers;
    private final PrintWriter out;
    private final Path work;
    private final int slotsPerWorker;

    ShardBench(BrokerAddress broker, TaskHandlers handlers, PrintWriter out, Path work, int slotsPerWorker) {
        this.broker = broker;
        this.handlers = handlers;
        this.out = out;
        this.work = work;
        this.slotsPerWorker = slotsPerWorker;
    }

    void run(int tasks) throws Exception {
        int nodes = broker.nodes().size();
        out.printf(Locale.ROOT, "shards (spec.queues.shards): %,d trivial tasks, %d worker processes x %s, on the %s the URI"
                + " names%s:%n", tasks, WORKER_PROCESSES, Plural.of(slotsPerWorker, "slot"), Plural.of(nodes, "node"),
                nodes == 1 ? " (shards share its cores: expect no gain)" : "");
        double one = 0;
        for (int k = 1; k <= MAX_SHARDS; k++) {
            double rate = tasks / timedBatch(k, tasks);
            if (k == 1) one = rate;
            out.printf(Locale.ROOT, "  K = %d  %,.0f tasks/s  (%.2f x K = 1)%n", k, rate, rate / one);
            out.flush();
        }
    }

    private double timedBatch(int shards, int tasks) throws Exception {
        String yaml = """
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata:
                  name: bench-shards-%d
                spec:
                  tasks:
                    range: {from: 1, to: %d}
                  run:
                    builtin: echo
                  workers: {concurrency: %d}
                  queues: {shards: %d}
                """.formatted(shards, tasks, slotsPerWorker, shards);
        Path manifest = Files.writeString(work.resolve("bench-shards-" + shards + ".yaml"), yaml);
        BatchFile batch = BatchFile.load(manifest, Map.of(), handlers, out);
        if (batch == null) throw new IllegalStateException("benchmark manifest invalid");
        BatchQueues queues = batch.queues();
        try (AmqpMasterTransport transport = new AmqpMasterTransport(broker, queues, batch.plan().retry().maxAttempts(),
                batch.retryDelays(), BrokerRun.MAX_UNCONFIRMED, true, false);
             WorkerProcesses workers = new WorkerProcesses(manifest, WORKER_PROCESSES, slotsPerWorker, broker, 25);
             OutputStream file = Files.newOutputStream(work.resolve("results-shards.jsonl"));
             ResultSink sink = new JsonLinesSink(file, false)) {
            awaitConsumers(queues.tasks(shards - 1), WORKER_PROCESSES * slotsPerWorker);
            Master master = new Master(new Master.Settings(batch.plan().id(), 0, Duration.ofSeconds(1), ProgressListener.NONE));
            long start = System.nanoTime();
            BatchOutcome outcome = master.run(batch.source(), transport, sink);
            double seconds = (System.nanoTime() - start) / 1e9;
            if (!outcome.succeeded()) throw new IllegalStateException("benchmark batch failed: " + outcome.reason());
            workers.finish(Duration.ofSeconds(30));
            return seconds;
        }
    }

    private void awaitConsumers(String queue, int consumers) throws Exception {
        try (Connection c = broker.newConnection("bench-shards-probe")) {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < end) {
                Channel ch = c.createChannel();
                int n = ch.queueDeclarePassive(queue).getConsumerCount();
                ch.close();
                if (n >= consumers) return;
                Thread.sleep(50);
            }
            throw new IllegalStateException("the worker processes did not connect within 60 s");
        }
    }
}
