package io.taskbatch.cli;

import io.taskbatch.master.BatchOutcome;
import io.taskbatch.master.FilesSource;
import io.taskbatch.master.JsonLinesSink;
import io.taskbatch.master.ProgressListener;
import io.taskbatch.master.RangeSource;
import io.taskbatch.master.ResultSink;
import io.taskbatch.master.TaskSource;
import io.taskbatch.plan.BatchPlan;
import io.taskbatch.worker.BuiltinExecutor;
import io.taskbatch.worker.CommandExecutor;
import io.taskbatch.worker.ProcessPoolExecutor;
import io.taskbatch.worker.RetryPolicy;
import io.taskbatch.worker.TaskExecutor;
import io.taskbatch.worker.TaskHandlers;
import io.taskbatch.worker.builtin.Sha256Handler;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code taskbatch bench}: measures the local engine and prints the numbers against our goals.
 * Each figure is one run on this machine: a measurement, not a test.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measure the engine on this machine and print the figures against their goals:",
                "in-memory throughput, CPU-bound speedup, command per-task cost, processPool against command.",
                "With --broker: the broker's bound, `run --broker` against it, a mixed batch's makespan and start-up times."})
public class BenchCommand implements Callable<Integer> {

    @Option(names = "--tasks", paramLabel = "N",
            description = "Trivial tasks for the throughput run (default 1,000,000 in memory, 100,000 with --broker).")
    Long tasks;

    @Option(names = "--sweep", description = "With --broker: also how the figures move with the prefetch, the worker processes "
            + "and the batch size (several minutes more).")
    boolean sweep;

    @Option(names = "--slots", description = "Slots for the parallel runs (default: one per core).")
    Integer slots;

    @picocli.CommandLine.Mixin
    BrokerOptions broker = new BrokerOptions();

    @Inject
    TaskHandlers handlers;

    @Spec
    CommandSpec spec;

    private PrintWriter out;

    @Override
    public Integer call() throws Exception {
        out = spec.commandLine().getOut();
        int cores = Runtime.getRuntime().availableProcessors();
        int parallel = slots != null ? slots : cores;
        out.printf(Locale.ROOT, "taskbatch bench: JDK %s, %s, %s %s%n", Runtime.version(), Plural.of(cores, "core"),
                System.getProperty("os.name"), System.getProperty("os.version"));
        Path work = Files.createTempDirectory("taskbatch-bench");
        try {
            if (broker.given()) {
                new BrokerBench(broker.resolve(), handlers, out, work, parallel)
                        .run((int) Math.min(tasks == null ? 100_000 : tasks, 10_000_000), sweep);
                return 0;
            }
            if (tasks == null) tasks = 1_000_000L;
            throughput(work, parallel);
            cpuSpeedup(work, parallel);
            commandCost(work);
            poolVersusCommand(work, parallel);
        } finally {
            try (Stream<Path> paths = Files.walk(work)) {
                paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        out.flush();
        return 0;
    }

    private void throughput(Path work, int parallel) throws Exception {
        TaskExecutor echo = new BuiltinExecutor(handlers.find("echo").orElseThrow());
        timed(new RangeSource(1, Math.min(tasks, 200_000), 1), echo, parallel, work); // warm-up
        double seconds = timed(new RangeSource(1, tasks, 1), echo, parallel, work);
        double rate = tasks / seconds;
        line("in-memory throughput (echo, %,d %s, %s, results to a file)".formatted(tasks, Plural.noun(tasks, "task"), Plural.of(parallel, "slot")),
                "%,.0f tasks/s".formatted(rate), "goal >= 100,000 tasks/s", rate >= 100_000);
    }

    private void cpuSpeedup(Path work, int parallel) throws Exception {
        Path data = Files.createDirectories(work.resolve("files"));
        int files = 16 * parallel;
        byte[] block = new byte[16 << 20];
        new Random(42).nextBytes(block);
        for (int i = 0; i < files; i++) Files.write(data.resolve("f" + i), block);
        TaskExecutor sha = new BuiltinExecutor(handlers.find("sha256").orElseThrow());
        TaskSource source = new FilesSource(data, "*");
        timed(source, sha, parallel, work); // warm-up, and the files into the page cache
        double one = best(() -> timed(source, sha, 1, work));
        double many = best(() -> timed(source, sha, parallel, work));
        double speedup = one / many;
        // the same hashing on plain threads, no engine: what this machine's cores give at best
        List<Path> paths;
        try (Stream<Path> listing = Files.list(data)) {
            paths = listing.sorted().toList();
        }
        double plainOne = best(() -> hashOnThreads(paths, 1));
        double plainMany = best(() -> hashOnThreads(paths, parallel));
        line("CPU-bound speedup (sha256 of %d x 16 MiB, 1 slot -> %s)".formatted(files, Plural.of(parallel, "slot")),
                "%.2fx (%.2fs -> %.2fs); plain threads %.2fx".formatted(speedup, one, many, plainOne / plainMany),
                "goal >= %.2fx".formatted(0.9 * parallel), speedup >= 0.9 * parallel);
    }

    private static double hashOnThreads(List<Path> paths, int threads) throws Exception {
        long start = System.nanoTime();
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            List<Future<String>> digests = new ArrayList<>();
            Sha256Handler sha = new Sha256Handler();
            for (Path p : paths) digests.add(pool.submit(() -> sha.handle(p.toString())));
            for (Future<String> d : digests) d.get();
        }
        return (System.nanoTime() - start) / 1e9;
    }

    private void commandCost(Path work) throws Exception {
        int n = 300;
        String program = "true";
        for (int i = 0; i < 30; i++) new ProcessBuilder(program).start().waitFor(); // warm-up
        long start = System.nanoTime();
        for (int i = 0; i < n; i++) new ProcessBuilder(program).start().waitFor();
        double bare = (System.nanoTime() - start) / 1e6 / n;
        try (CommandExecutor command = new CommandExecutor(List.of(program), null, Map.of())) {
            timed(new RangeSource(1, 30, 1), command, 1, work);
            double ours = timed(new RangeSource(1, n, 1), command, 1, work) * 1000 / n;
            double ratio = ours / bare;
            line("command per-task cost (%s, %s, 1 slot)".formatted(program, Plural.of(n, "task")),
                    "%.2f ms vs bare start+wait %.2f ms = %.2fx".formatted(ours, bare, ratio), "goal <= 1.5x", ratio <= 1.5);
        }
    }

    private void poolVersusCommand(Path work, int parallel) throws Exception {
        // one program for both: 100 ms of start-up, then one task (command) or a task per line (processPool)
        Path script = work.resolve("slow-start.sh");
        Files.writeString(script, """
                #!/usr/bin/env bash
                sleep 0.1
                if [[ -z $TASKBATCH_PROTOCOL ]]; then read -r n; echo "$((n * 2))"; exit 0; fi
                while IFS= read -r line; do
                  [[ $line =~ \\"id\\":([0-9]+) ]] && id=${BASH_REMATCH[1]}
                  [[ $line =~ \\"input\\":\\"([0-9]+)\\" ]] && n=${BASH_REMATCH[1]}
                  printf '{"id":%s,"output":"%s"}\\n' "$id" "$((n * 2))"
                done
                """);
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        int n = 100;
        List<String> argv = List.of(script.toString());
        double commandSeconds;
        try (CommandExecutor command = new CommandExecutor(argv, null, Map.of())) {
            commandSeconds = timed(new RangeSource(1, n, 1), command, parallel, work);
        }
        double poolSeconds;
        try (ProcessPoolExecutor pool = new ProcessPoolExecutor(argv, parallel, 1000, null, Map.of(), "bench")) {
            poolSeconds = timed(new RangeSource(1, n, 1), pool, parallel, work);
        }
        double ratio = commandSeconds / poolSeconds;
        line("processPool vs command (100 ms start-up, %s, %s)".formatted(Plural.of(n, "task"), Plural.of(parallel, "slot")),
                "%.1fx (%.2fs vs %.2fs)".formatted(ratio, commandSeconds, poolSeconds), "goal >= 20x", ratio >= 20);
    }

    @FunctionalInterface
    private interface Measurement {
        double seconds() throws Exception;
    }

    private static double best(Measurement m) throws Exception {
        double best = Double.MAX_VALUE;
        for (int i = 0; i < 5; i++) best = Math.min(best, m.seconds());
        return best;
    }

    /** Runs a whole batch through the local engine; returns its wall time in seconds. */
    private double timed(TaskSource source, TaskExecutor executor, int slots, Path work)
            throws IOException, InterruptedException {
        BatchPlan plan = new BatchPlan("bench", "local", null, RetryPolicy.none(), Duration.ofMinutes(5), 0, slots);
        long start = System.nanoTime();
        BatchOutcome outcome;
        try (OutputStream file = Files.newOutputStream(work.resolve("results.jsonl"));
             ResultSink sink = new JsonLinesSink(file, false)) {
            outcome = LocalRun.execute(plan, source, executor, slots, sink, ProgressListener.NONE, Duration.ofSeconds(1));
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        if (!outcome.succeeded()) throw new IllegalStateException("benchmark batch failed: " + outcome.reason());
        return seconds;
    }

    private void line(String what, String measured, String goal, boolean met) {
        out.printf(Locale.ROOT, "%-66s %-52s %-24s %s%n", what, measured, goal, met ? "met" : "MISSED");
        out.flush();
    }

}
