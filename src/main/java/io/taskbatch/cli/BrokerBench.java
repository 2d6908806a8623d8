package io.taskbatch.cli;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import io.taskbatch.master.BatchOutcome;
import io.taskbatch.master.JsonLinesSink;
import io.taskbatch.master.Master;
import io.taskbatch.master.ProgressListener;
import io.taskbatch.master.ResultSink;
import io.taskbatch.queue.amqp.AmqpMasterTransport;
import io.taskbatch.queue.amqp.BrokerAddress;
import io.taskbatch.worker.TaskHandlers;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code taskbatch bench --broker URI}: the broker's own bound (a plain client loop), our end-to-end
 * throughput of trivial tasks against it, and the makespan of a mixed batch against its ideal, with
 * how these move with the prefetch, the number of worker processes and the batch size.
 */
final class BrokerBench {
    private final BrokerAddress broker;
    private final TaskHandlers handlers;
    private final PrintWriter out;
    private final Path work;
    private final int slotsPerWorker;
    private int runs;

    BrokerBench(BrokerAddress broker, TaskHandlers handlers, PrintWriter out, Path work, int slotsPerWorker) {
        this.broker = broker;
        this.handlers = handlers;
        this.out = out;
        this.work = work;
        this.slotsPerWorker = slotsPerWorker;
    }

    void run(int tasks) throws Exception {
        double bound = brokerBound(Math.max(tasks, 50_000));
        double taskBound = bound / 2;
        out.printf(Locale.ROOT, "broker bound: %,.0f persistent msgs/s published with confirms and consumed with acks"
                + " (quorum queue, plain client) -> %,.0f tasks/s (a task is a task and a result)%n", bound, taskBound);
        out.flush();

        double ours = trivial(tasks, 2, 0);
        out.printf(Locale.ROOT, "end-to-end: %,d trivial %s, 2 worker processes x %s, adaptive prefetch: %,.0f tasks/s"
                + " = %.2f of the bound (goal >= 0.80)%n", tasks, Plural.noun(tasks, "task"), Plural.of(slotsPerWorker, "slot"), ours, ours / taskBound);
        double mixed = mixed(400, 2, 0);
        out.printf(Locale.ROOT, "mixed batch: 400 tasks, every 10th sleeps 500 ms, 2 x %s, adaptive: makespan %.2f x ideal"
                + " (goal <= 1.2)%n", Plural.of(slotsPerWorker, "slot"), mixed);
        out.println("how they move:");
        for (int prefetch : new int[] {1, 8, 50, 250}) {
            double t = trivial(tasks / 2, 2, prefetch);
            double m = mixed(400, 2, prefetch);
            out.printf(Locale.ROOT, "  prefetch fixed %-3d  trivial %.2f of bound, mixed makespan %.2f x ideal%n", prefetch, t / taskBound, m);
            out.flush();
        }
        out.printf(Locale.ROOT, "  1 worker process   trivial %.2f of bound, mixed makespan %.2f x ideal%n",
                trivial(tasks / 2, 1, 0) / taskBound, mixed(400, 1, 0));
        out.printf(Locale.ROOT, "  batch of %,d      trivial %.2f of bound%n", tasks / 5, trivial(tasks / 5, 2, 0) / taskBound);
        out.printf(Locale.ROOT, "  batch of %,d     trivial %.2f of bound%n", tasks * 2, trivial(tasks * 2, 2, 0) / taskBound);
        out.flush();
        new ShardBench(broker, handlers, out, work, slotsPerWorker).run(tasks / 5);
    }

    /** Messages per second through one quorum queue: one publisher (confirms, window 500), one consumer (acks every 50). */
    double brokerBound(int messages) throws Exception {
        String queue = "taskbatch.bench.bound";
        try (Connection pubConn = broker.connectionFactory().newConnection("bench-publisher");
             Connection subConn = broker.connectionFactory().newConnection("bench-consumer")) {
            Channel setup = pubConn.createChannel();
            setup.queueDelete(queue);
            setup.queueDeclare(queue, true, false, false, Map.of("x-queue-type", "quorum"));
            setup.close();
            byte[] body = new byte[100];
            CountDownLatch consumed = new CountDownLatch(messages);
            Channel sub = subConn.createChannel();
            sub.basicQos(250);
            AtomicLong count = new AtomicLong();
            sub.basicConsume(queue, false, new DefaultConsumer(sub) {
                @Override
                public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties props, byte[] b)
                        throws java.io.IOException {
                    if (count.incrementAndGet() % 50 == 0) sub.basicAck(envelope.getDeliveryTag(), true);
                    consumed.countDown();
                }
            });
            Channel pub = pubConn.createChannel();
            pub.confirmSelect();
            Semaphore window = new Semaphore(500);
            java.util.concurrent.ConcurrentSkipListSet<Long> outstanding = new java.util.concurrent.ConcurrentSkipListSet<>();
            pub.addConfirmListener((seq, multiple) -> release(outstanding, window, seq, multiple),
                    (seq, multiple) -> release(outstanding, window, seq, multiple));
            AMQP.BasicProperties persistent = new AMQP.BasicProperties.Builder().deliveryMode(2).build();
            long start = System.nanoTime();
            for (int i = 0; i < messages; i++) {
                window.acquire();
                outstanding.add(pub.getNextPublishSeqNo());
                pub.basicPublish("", queue, persistent, body);
            }
            if (!consumed.await(5, TimeUnit.MINUTES)) throw new IllegalStateException("the bound run did not finish");
            double seconds = (System.nanoTime() - start) / 1e9;
            pub.queueDelete(queue);
            return messages / seconds;
        }
    }

    private static void release(java.util.concurrent.ConcurrentSkipListSet<Long> outstanding, Semaphore window, long seq, boolean multiple) {
        int n = 0;
        if (multiple) {
            var head = outstanding.headSet(seq, true);
            n = head.size();
            head.clear();
        } else if (outstanding.remove(seq)) {
            n = 1;
        }
        window.release(n);
    }

    /** Tasks per second of a batch of trivial tasks, from the master's start (workers already connected). */
    double trivial(int tasks, int workerProcesses, int prefetch) throws Exception {
        String yaml = batch("range: {from: 1, to: " + tasks + "}", "echo", prefetch);
        return tasks / timedBatch(yaml, workerProcesses);
    }

    /** Makespan of a mixed batch over its ideal (total work / slots). */
    double mixed(int tasks, int workerProcesses, int prefetch) throws Exception {
        StringBuilder items = new StringBuilder();
        for (int i = 0; i < tasks; i++) items.append(i == 0 ? "" : ", ").append(i % 10 == 0 ? "\"500\"" : "\"0\"");
        String yaml = batch("items: [" + items + "]", "sleep", prefetch);
        double ideal = (tasks / 10) * 0.5 / (workerProcesses * slotsPerWorker);
        return timedBatch(yaml, workerProcesses) / ideal;
    }

    private String batch(String source, String builtin, int prefetch) {
        return """
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata:
                  name: bench-%d
                spec:
                  tasks:
                    %s
                  run:
                    builtin: %s
                  workers: {prefetch: %d, concurrency: %d}
                """.formatted(++runs, source, builtin, prefetch, slotsPerWorker);
    }

    private double timedBatch(String yaml, int workerProcesses) throws Exception {
        Path manifest = Files.writeString(work.resolve("bench-" + runs + ".yaml"), yaml);
        BatchFile batch = BatchFile.load(manifest, Map.of(), handlers, out);
        if (batch == null) throw new IllegalStateException("benchmark manifest invalid");
        try (AmqpMasterTransport transport = new AmqpMasterTransport(broker, batch.queues(), batch.plan().retry().maxAttempts(),
                batch.retryDelays(), BrokerRun.MAX_UNCONFIRMED, true, false);
             WorkerProcesses workers = new WorkerProcesses(manifest, workerProcesses, slotsPerWorker, broker, 25);
             OutputStream file = Files.newOutputStream(work.resolve("results.jsonl"));
             ResultSink sink = new JsonLinesSink(file, false)) {
            awaitConsumers(batch.queues().tasks(), workerProcesses * slotsPerWorker);
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
        try (Connection c = broker.connectionFactory().newConnection("bench-probe")) {
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
