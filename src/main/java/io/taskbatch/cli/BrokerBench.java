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
import io.taskbatch.queue.ResultMessage;
import io.taskbatch.queue.TaskMessage;
import io.taskbatch.queue.amqp.MessageCodec;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
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
 * {@code taskbatch bench --broker URI}: the broker's own bound (plain client loops on a task queue and a result
 * queue at once), {@code taskbatch run --broker} against it, the makespan of a mixed batch against its ideal and the
 * roles' start-up; with {@code --sweep}, how these move with the prefetch, the worker processes and the batch size.
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

    /**
     * One table: the broker's bound, {@code taskbatch run --broker --worker-processes 2} against it, a mixed batch's
     * makespan and the roles' start-up; with {@code sweep}, how the figures move with the prefetch and the batch size.
     */
    void run(int tasks, boolean sweep) throws Exception {
        out.printf(Locale.ROOT, "load average %s at the start (figures depend on it: compare runs made in the same conditions)%n",
                loadAverage());
        brokerBound(Math.min(tasks, 20_000)); // warms this JVM's client up; not counted
        // the bound just before and just after the run, the run against their mean: the same node's rate moves between
        // measurements a minute apart (by a tenth or more on this project's VM) as much as a run's does
        Bound before = brokerBound(tasks);
        // the run's JVM hosts only the master: C1 alone, as bin/taskbatch starts `run --broker` (the workers choose theirs)
        RunFigures run = runCommand(tasks, 2, false);
        Bound after = brokerBound(tasks);
        Bound bound = Bound.mean(before, after);
        line("broker bound: 2 quorum queues at once (task %d B, result %d B), persistent, confirms, multi-acks"
                        .formatted(taskSample().length, resultSample().length),
                "%,.0f + %,.0f msgs/s = %,.0f tasks/s (%,.0f before the run below, %,.0f after)".formatted(bound.tasksQueue(),
                        bound.resultsQueue(), bound.tasksPerSecond(), before.tasksPerSecond(), after.tasksPerSecond()),
                "", null);
        double ratio = run.wallRate() / bound.tasksPerSecond();
        line("run --broker --worker-processes 2: %,d echo %s, process start to exit".formatted(tasks, Plural.noun(tasks, "task")),
                "%,.0f tasks/s (%.1f s) = %.2f of the bound%s".formatted(run.wallRate(), run.wallSeconds(), ratio, run.resultsPerMessage()),
                "goal >= 0.80", ratio >= 0.8);
        line("  the same by the master's own clock (its start to its last result)",
                "%,.0f tasks/s (%.1f s) = %.2f of the bound".formatted(tasks / run.ownSeconds(), run.ownSeconds(),
                        tasks / run.ownSeconds() / bound.tasksPerSecond()), "", null);
        line("  CPU per task, process start to exit (of it compiling)", run.cpuPerTask(), "", null);
        RunFigures c2 = runCommand(tasks, 2, true);
        line("  the same with the master compiled by C2 too (the JVM's default)",
                "%,.0f tasks/s (%.1f s) = %.2f of the bound; %s".formatted(c2.wallRate(), c2.wallSeconds(),
                        c2.wallRate() / bound.tasksPerSecond(), c2.cpuPerTask()), "", null);
        double mixed = mixed(400, 2, 0);
        line("mixed batch: 400 tasks, every 10th sleeps 500 ms, 2 worker processes x %s".formatted(Plural.of(slotsPerWorker, "slot")),
                "makespan %.2f x ideal".formatted(mixed), "goal <= 1.2", mixed <= 1.2);
        String workers = run.workerStartup().stream().map(s -> "%.2f s".formatted(s)).collect(Collectors.joining(", "));
        if (run.workerStartup().size() < 2) workers += " (the other worker came too late for a task)";
        // the worst case: the master's and both workers' JVMs start at once on this machine's cores, with the broker
        line("worker start-up, 3 JVMs starting at once: process start to its first result confirmed (each)", workers,
                "the goal is for one alone", null);
        line("  the same, its CPU to that result (of it compiling)", cpuFigures(run.workerFirstCpu()), "", null);
        line("master start-up: process start to its first result stored", "%.2f s".formatted(run.masterStartup()), "", null);
        // three starts as `run` starts a worker process for echo tasks (C1 alone), then one as the image starts a pod (C2 too)
        List<Join> all = joining(JOINS + 1);
        List<Join> joins = all.subList(0, JOINS);
        Join pod = all.get(JOINS);
        double slowestJoin = joins.stream().mapToDouble(Join::seconds).max().orElse(Double.NaN);
        line("worker start-up, joining a running batch alone: process start to its first result (%s)".formatted(Plural.of(joins.size(), "start")),
                joins.stream().map(j -> "%.2f s".formatted(j.seconds())).collect(Collectors.joining(", ")),
                "goal <= 2 s (idle machine)", slowestJoin <= 2.0);
        line("  the same, its CPU to that result (of it compiling)",
                cpuFigures(joins.stream().map(j -> new double[] {j.cpu(), j.compiling()}).toList()), "", null);
        line("  the same started with C2 too, as the image starts a pod and bin/taskbatch a worker",
                "%.2f s; CPU %s".formatted(pod.seconds(), cpuFigures(List.of(new double[] {pod.cpu(), pod.compiling()}))), "", null);
        shards(tasks / 5);
        out.printf(Locale.ROOT, "load average %s at the end%n", loadAverage());
        out.flush();
        if (!sweep) return;
        double taskBound = bound.tasksPerSecond();
        out.println("how they move (the master in this process, worker processes already connected, timed from the master's start):");
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
    }

    /** What the broker does with our durability, per queue, while a task queue and a result queue run at once. */
    record Bound(double tasksQueue, double resultsQueue) {
        /** A task is one message through each queue: the two queues' mean rate. */
        double tasksPerSecond() {
            return (tasksQueue + resultsQueue) / 2;
        }

        static Bound mean(Bound a, Bound b) {
            return new Bound((a.tasksQueue + b.tasksQueue) / 2, (a.resultsQueue + b.resultsQueue) / 2);
        }
    }

    /**
     * The bound as RabbitMQ PerfTest measures it, a task queue and a result queue at once: each has its own publisher
     * connection (persistent messages of our task's or result's size and properties, confirms, at most 500
     * outstanding) and consumer connection (prefetch 250, a multiple-ack every 50). Each queue's rate is what it
     * delivered until the first of the two was done, so both rates are of the time they shared the broker.
     */
    Bound brokerBound(int messages) throws Exception {
        TaskMessage task = TaskMessage.first(50_000, "50000");
        AtomicLong[] delivered = {new AtomicLong(), new AtomicLong()};
        long[] atFirstDone = new long[3]; // tasks delivered, results delivered, nanoTime; under its own lock
        Runnable oneDone = () -> {
            synchronized (atFirstDone) {
                if (atFirstDone[2] != 0) return;
                atFirstDone[0] = delivered[0].get();
                atFirstDone[1] = delivered[1].get();
                atFirstDone[2] = System.nanoTime();
            }
        };
        CountDownLatch connected = new CountDownLatch(2);
        CountDownLatch go = new CountDownLatch(1);
        long start;
        try (ExecutorService pipes = Executors.newFixedThreadPool(2)) {
            Future<?> tasks = pipes.submit(() -> pipe("taskbatch.bench.bound.tasks", taskSample(), MessageCodec.taskProperties(task),
                    messages, delivered[0], connected, go, oneDone));
            Future<?> results = pipes.submit(() -> pipe("taskbatch.bench.bound.results", resultSample(),
                    MessageCodec.resultProperties(result(task)), messages, delivered[1], connected, go, oneDone));
            if (!connected.await(60, TimeUnit.SECONDS)) throw new IllegalStateException("the bound run could not connect");
            start = System.nanoTime();
            go.countDown();
            tasks.get();
            results.get();
        }
        double seconds = (atFirstDone[2] - start) / 1e9;
        return new Bound(atFirstDone[0] / seconds, atFirstDone[1] / seconds);
    }

    private Void pipe(String queue, byte[] body, AMQP.BasicProperties props, int messages, AtomicLong delivered,
                      CountDownLatch connected, CountDownLatch go, Runnable done) throws Exception {
        try (Connection pubConn = broker.connectionFactory().newConnection("bench-publisher " + queue);
             Connection subConn = broker.connectionFactory().newConnection("bench-consumer " + queue)) {
            Channel setup = pubConn.createChannel();
            setup.queueDelete(queue);
            setup.queueDeclare(queue, true, false, false, Map.of("x-queue-type", "quorum"));
            setup.close();
            CountDownLatch consumed = new CountDownLatch(messages);
            Channel sub = subConn.createChannel();
            sub.basicQos(250);
            sub.basicConsume(queue, false, new DefaultConsumer(sub) {
                @Override
                public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties p, byte[] b) throws IOException {
                    if (delivered.incrementAndGet() % 50 == 0) sub.basicAck(envelope.getDeliveryTag(), true);
                    consumed.countDown();
                }
            });
            Channel pub = pubConn.createChannel();
            pub.confirmSelect();
            Semaphore window = new Semaphore(500);
            ConcurrentSkipListSet<Long> outstanding = new ConcurrentSkipListSet<>();
            pub.addConfirmListener((seq, multiple) -> release(outstanding, window, seq, multiple),
                    (seq, multiple) -> release(outstanding, window, seq, multiple));
            connected.countDown();
            go.await();
            for (int i = 0; i < messages; i++) {
                window.acquire();
                outstanding.add(pub.getNextPublishSeqNo());
                pub.basicPublish("", queue, props, body);
            }
            if (!consumed.await(5, TimeUnit.MINUTES)) throw new IllegalStateException("the bound run did not finish");
            done.run();
            pub.queueDelete(queue);
            return null;
        }
    }

    private static void release(ConcurrentSkipListSet<Long> outstanding, Semaphore window, long seq, boolean multiple) {
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

    private static byte[] taskSample() {
        return MessageCodec.encode(TaskMessage.first(50_000, "50000"));
    }

    private static byte[] resultSample() {
        return MessageCodec.encode(result(TaskMessage.first(50_000, "50000")));
    }

    /** An echo task's result as a worker pod sends it (a worker is named host/pid). */
    private static ResultMessage result(TaskMessage task) {
        return ResultMessage.succeeded(task, task.input(), 0, "bench-7d9f8b6c5-x2x7q/12345");
    }

    /**
     * What a {@code taskbatch run --broker} process did, by the wall clock and by its log.
     *
     * @param masterCpu  the master's CPU seconds and the compilers' share
     * @param workersCpu the same, summed over the worker processes
     * @param workerFirstCpu each worker's CPU seconds to its first result, and its compilers' share
     */
    record RunFigures(long tasks, double wallSeconds, double ownSeconds, List<Double> workerStartup, double masterStartup,
                      double[] masterCpu, double[] workersCpu, List<double[]> workerFirstCpu, double resultsInAMessage) {
        double wallRate() {
            return tasks / wallSeconds;
        }

        /**
         * How many results a result message carried on average, as the master logged it: the bound prices one message
         * per result, and our workers send several to a message.
         */
        String resultsPerMessage() {
            return Double.isNaN(resultsInAMessage) ? "" : " (results %.0f to a message)".formatted(resultsInAMessage);
        }

        String cpuPerTask() {
            return "master %.0f us (%.0f), workers %.0f us (%.0f)".formatted(masterCpu[0] / tasks * 1e6, masterCpu[1] / tasks * 1e6,
                    workersCpu[0] / tasks * 1e6, workersCpu[1] / tasks * 1e6);
        }
    }

    /**
     * {@code taskbatch run FILE --broker --worker-processes N} as a user runs it: a process of our jar with this JVM's
     * options (so the launcher's flags), the broker through the environment, results to a file. Timed from before the
     * process starts to its exit; its log gives its own clock and the roles' start-up.
     *
     * @param optimizingCompiler false: the run's JVM (the master) compiles with C1 alone, as bin/taskbatch starts it
     */
    RunFigures runCommand(int tasks, int workerProcesses, boolean optimizingCompiler) throws Exception {
        String yaml = batch("range: {from: 1, to: " + tasks + "}", "echo", 0);
        Path manifest = Files.writeString(work.resolve("bench-" + runs + ".yaml"), yaml);
        Path log = work.resolve("bench-" + runs + ".log");
        List<String> cmd = WorkerProcesses.withCompiler(WorkerProcesses.javaCommand(), optimizingCompiler);
        // each role's CPU at its end (StartupClock.spent)
        cmd.add(1, "-Dquarkus.log.category.\"" + StartupClock.class.getName() + "\".level=DEBUG");
        // how the results came (BrokerRun's debug line)
        cmd.add(1, "-Dquarkus.log.category.\"" + BrokerRun.class.getName() + "\".level=DEBUG");
        cmd.addAll(List.of("run", manifest.toString(), "--worker-processes", Integer.toString(workerProcesses),
                "--progress", "plain", "--output", work.resolve("results.jsonl").toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(log.toFile());
        pb.environment().put(BrokerAddress.ENV_URI, broker.uriForChildren());
        long start = System.nanoTime();
        Process p = pb.start();
        if (!p.waitFor(10, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IllegalStateException("taskbatch run did not finish within 10 minutes; its log: " + log);
        }
        double wall = (System.nanoTime() - start) / 1e9;
        String text = Files.readString(log);
        Matcher summary = SUMMARY.matcher(text);
        if (p.exitValue() != 0 || !summary.find()) {
            throw new IllegalStateException("taskbatch run failed (exit " + p.exitValue() + "): " + text);
        }
        double master = StartupClock.seconds("master", text).stream().findFirst().orElse(Double.NaN);
        return new RunFigures(tasks, wall, Double.parseDouble(summary.group(1)), StartupClock.seconds("worker", text), master,
                sum(StartupClock.spent("master", text)), sum(StartupClock.spent("worker", text)),
                StartupClock.firstResultCpu("worker", text), resultsInAMessage(text));
    }

    /** How many times {@link #joining} starts a worker as {@code run} does, before the one started with C2. */
    private static final int JOINS = 3;

    /** Tasks of the batch workers join: enough that the joins leave some for the last one, which finishes it. */
    private static final int JOIN_TASKS = 20_000;

    /** A worker that joined a running batch: seconds from its process's start to its first result, its CPU until then. */
    record Join(double seconds, double cpu, double compiling) {}

    /**
     * A worker joining a batch that is already running, as a worker pod does on a node of its own: the master runs here
     * and has published its tasks, nothing else runs; then one worker process starts as {@code run} starts them, and
     * once it has logged its first result it is told to stop (SIGTERM: what it holds goes back to the queue). {@code
     * starts} times, after the machine settled; the last one finishes the batch. All but the last run C1 alone, as {@code
     * run} starts a worker of echo tasks; the last one C2 too, as the image starts a worker pod.
     */
    List<Join> joining(int starts) throws Exception {
        // a task some stopped worker held comes back with one more delivery: room for every stop
        String yaml = batch("range: {from: 1, to: " + JOIN_TASKS + "}", "echo", 0)
                + "  retry: {maxAttempts: %d}%n".formatted(starts + 3);
        Path manifest = Files.writeString(work.resolve("bench-" + runs + ".yaml"), yaml);
        BatchFile batch = BatchFile.load(manifest, Map.of(), handlers, out);
        if (batch == null) throw new IllegalStateException("benchmark manifest invalid");
        List<String> c1 = WorkerProcesses.command(manifest, slotsPerWorker, 25, null, false);
        c1.add(1, "-Dquarkus.log.category.\"" + StartupClock.class.getName() + "\".level=DEBUG");
        List<String> c2 = WorkerProcesses.command(manifest, slotsPerWorker, 25, null, true);
        c2.add(1, "-Dquarkus.log.category.\"" + StartupClock.class.getName() + "\".level=DEBUG");
        List<Join> joins = new ArrayList<>();
        try (AmqpMasterTransport transport = new AmqpMasterTransport(broker, batch.queues(), batch.plan().retry().maxAttempts(),
                batch.retryDelays(), BrokerRun.MAX_UNCONFIRMED, true, false);
             OutputStream file = Files.newOutputStream(work.resolve("results.jsonl"));
             ResultSink sink = new JsonLinesSink(file, false)) {
            Master master = new Master(new Master.Settings(batch.plan().id(), 0, Duration.ofSeconds(1), ProgressListener.NONE));
            CompletableFuture<BatchOutcome> outcome = new CompletableFuture<>();
            Thread.ofPlatform().daemon().name("bench-join-master").start(() -> {
                try {
                    outcome.complete(master.run(batch.source(), transport, sink));
                } catch (Throwable e) {
                    outcome.completeExceptionally(e);
                }
            });
            for (int i = 0; i < starts; i++) {
                awaitQuiet(batch.queues().tasks());
                Path log = work.resolve("bench-" + runs + "-join-" + i + ".log");
                ProcessBuilder pb = new ProcessBuilder(i == starts - 1 ? c2 : c1).redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(log.toFile());
                pb.environment().put(BrokerAddress.ENV_URI, broker.uriForChildren());
                pb.environment().put(WorkerProcesses.ENV_PARENT_PID, Long.toString(ProcessHandle.current().pid()));
                Process p = pb.start();
                try {
                    joins.add(awaitFirstResult(p, log));
                    if (i == starts - 1) {
                        BatchOutcome done = outcome.get(10, TimeUnit.MINUTES);
                        if (!done.succeeded()) throw new IllegalStateException("benchmark batch failed: " + done.reason());
                        if (!p.waitFor(60, TimeUnit.SECONDS)) throw new IllegalStateException("the last worker did not exit; its log: " + log);
                    } else {
                        p.destroy();
                        if (!p.waitFor(60, TimeUnit.SECONDS)) throw new IllegalStateException("a worker did not stop; its log: " + log);
                    }
                } finally {
                    p.destroyForcibly();
                }
            }
        }
        return joins;
    }

    /** Waits until the task queue's depth stayed the same for a second: the master published what it could, and nothing consumes. */
    private void awaitQuiet(String queue) throws Exception {
        try (Connection c = broker.connectionFactory().newConnection("bench-probe")) {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            long last = -1;
            long since = System.nanoTime();
            while (System.nanoTime() < end) {
                Channel ch = c.createChannel();
                long n;
                try {
                    n = ch.queueDeclarePassive(queue).getMessageCount();
                    ch.close();
                } catch (IOException notYet) {
                    n = 0; // the master has not declared it yet (the broker closed the channel)
                }
                if (n != last || n == 0) {
                    last = n;
                    since = System.nanoTime();
                } else if (System.nanoTime() - since >= TimeUnit.SECONDS.toNanos(1)) {
                    return;
                }
                Thread.sleep(100);
            }
            throw new IllegalStateException("the task queue " + queue + " did not settle within 60 s");
        }
    }

    /** Reads a worker's log until it tells its first result (and, at debug, the CPU it took). */
    private static Join awaitFirstResult(Process p, Path log) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < end) {
            String text = Files.readString(log);
            List<Double> seconds = StartupClock.seconds("worker", text);
            List<double[]> cpu = StartupClock.firstResultCpu("worker", text);
            if (!seconds.isEmpty() && !cpu.isEmpty()) return new Join(seconds.get(0), cpu.get(0)[0], cpu.get(0)[1]);
            if (!p.isAlive()) throw new IllegalStateException("a joining worker exited (" + p.exitValue() + ") before its first result: " + text);
            Thread.sleep(20);
        }
        throw new IllegalStateException("a joining worker had no result within 60 s; its log: " + log);
    }

    /** "1.02 s (0.40), 1.10 s (0.45)": CPU seconds and their compiling share, one per process. */
    private static String cpuFigures(List<double[]> cpu) {
        if (cpu.isEmpty()) return "(not logged)";
        return cpu.stream().map(c -> "%.2f s (%.2f)".formatted(c[0], c[1])).collect(Collectors.joining(", "));
    }

    private static double[] sum(List<double[]> spent) {
        if (spent.isEmpty()) return new double[] {Double.NaN, Double.NaN};
        double[] total = new double[2];
        for (double[] one : spent) {
            total[0] += one[0];
            total[1] += one[1];
        }
        return total;
    }

    /** The end of {@code run}'s summary line: "... in 15.7s (6361 tasks/s)". */
    /** Shard counts the bench compares: 1 to this. */
    private static final int MAX_SHARDS = 3;
    private static final Pattern SUMMARY = Pattern.compile("succeeded: .* in ([0-9.]+)s \\(");
    private static final Pattern RESULTS_IN_MESSAGES = Pattern.compile("([0-9]+) results in ([0-9]+) messages came on the result queues");

    /** Results per result message, from the master's log; NaN when it does not say. */
    static double resultsInAMessage(String log) {
        Matcher m = RESULTS_IN_MESSAGES.matcher(log);
        if (!m.find() || Long.parseLong(m.group(2)) == 0) return Double.NaN;
        return Double.parseDouble(m.group(1)) / Long.parseLong(m.group(2));
    }

    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "%.2f".formatted(ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        }
    }

    private void line(String what, String measured, String goal, Boolean met) {
        out.printf(Locale.ROOT, "%-92s %-46s %-26s %s%n", what, measured, goal, met == null ? "" : met ? "met" : "MISSED");
        out.flush();
    }

    /** Tasks per second of a batch of trivial tasks, from the master's start (workers already connected). */
    double trivial(int tasks, int workerProcesses, int prefetch) throws Exception {
        return trivial(tasks, workerProcesses, prefetch, 1);
    }

    private double trivial(int tasks, int workerProcesses, int prefetch, int shards) throws Exception {
        String yaml = batch("range: {from: 1, to: " + tasks + "}", "echo", prefetch, shards);
        return tasks / timedBatch(yaml, workerProcesses);
    }

    /**
     * The same trivial batch with spec.queues.shards = 1 to 3. Shards pay off only on a cluster, each shard's leader on
     * another node: give the bench every node in the URI ({@code amqp://user:pw@node-0,node-1,node-2/vhost}). On one
     * node they share its cores and show their cost.
     */
    private void shards(int tasks) throws Exception {
        int nodes = broker.nodes().size();
        out.printf(Locale.ROOT, "shards (spec.queues.shards): %,d trivial tasks, 2 worker processes x %s, on the %s the URI"
                + " names%s:%n", tasks, Plural.of(slotsPerWorker, "slot"), Plural.of(nodes, "node"),
                nodes == 1 ? " (shards share its cores: expect no gain)" : "");
        double one = 0;
        for (int k = 1; k <= MAX_SHARDS; k++) {
            double rate = trivial(tasks, 2, 0, k);
            if (k == 1) one = rate;
            out.printf(Locale.ROOT, "  K = %d  %,.0f tasks/s  (%.2f x K = 1)%n", k, rate, rate / one);
            out.flush();
        }
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
        return batch(source, builtin, prefetch, 1);
    }

    private String batch(String source, String builtin, int prefetch, int shards) {
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
                  queues: {shards: %d}
                """.formatted(++runs, source, builtin, prefetch, slotsPerWorker, shards);
    }

    private double timedBatch(String yaml, int workerProcesses) throws Exception {
        Path manifest = Files.writeString(work.resolve("bench-" + runs + ".yaml"), yaml);
        BatchFile batch = BatchFile.load(manifest, Map.of(), handlers, out);
        if (batch == null) throw new IllegalStateException("benchmark manifest invalid");
        try (AmqpMasterTransport transport = new AmqpMasterTransport(broker, batch.queues(), batch.plan().retry().maxAttempts(),
                batch.retryDelays(), BrokerRun.MAX_UNCONFIRMED, true, false);
             WorkerProcesses workers = new WorkerProcesses(manifest, workerProcesses, slotsPerWorker, broker, 25,
                     work.resolve("workers.log"));
             OutputStream file = Files.newOutputStream(work.resolve("results.jsonl"));
             ResultSink sink = new JsonLinesSink(file, false)) {
            // every slot consumes every shard, subscribing to them in order
            awaitConsumers(batch.queues().tasks(batch.queues().shards() - 1), workerProcesses * slotsPerWorker);
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
