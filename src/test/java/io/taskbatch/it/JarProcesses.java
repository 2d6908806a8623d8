package io.taskbatch.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** Starts roles of the packaged jar as real processes, and reads what they wrote. */
final class JarProcesses implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private final String brokerUri;
    private final List<Process> started = new ArrayList<>();

    JarProcesses(Path dir, String brokerUri) {
        this.dir = dir;
        this.brokerUri = brokerUri;
    }

    static Path jar() {
        Path jar = Path.of(System.getProperty("taskbatch.jar", "target/quarkus-app/quarkus-run.jar"));
        if (!Files.exists(jar)) throw new IllegalStateException("no " + jar + ": run `./mvnw verify` (it packages first)");
        return jar;
    }

    Path manifest(String name, String yaml) throws IOException {
        return Files.writeString(dir.resolve(name + ".yaml"), yaml);
    }

    /** Starts {@code taskbatch ARGS...} with the broker in its environment; stderr goes to {@code log}. */
    Process start(String log, String... args) throws IOException {
        return start(log, Map.of(), args);
    }

    /** As {@link #start(String, String...)}, with {@code env} added to the environment (an empty value removes it). */
    Process start(String log, Map<String, String> env, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "-XX:TieredStopAtLevel=1", "-Xshare:auto", "-jar", jar().toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
        pb.environment().put("TASKBATCH_BROKER_URI", brokerUri);
        pb.environment().putAll(Map.of("TASKBATCH_JAR", jar().toAbsolutePath().toString()));
        env.forEach((k, v) -> {
            if (v.isEmpty()) pb.environment().remove(k);
            else pb.environment().put(k, v);
        });
        pb.redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(log + ".out").toFile()));
        pb.redirectError(ProcessBuilder.Redirect.appendTo(dir.resolve(log + ".log").toFile()));
        Process p = pb.start();
        started.add(p);
        return p;
    }

    Process master(String log, Path manifest, String... extra) throws IOException {
        List<String> args = new ArrayList<>(List.of("master", "--manifest", manifest.toString(), "--progress", "none"));
        args.addAll(List.of(extra));
        return start(log, args.toArray(String[]::new));
    }

    Process worker(String log, Path manifest, int slots) throws IOException {
        return start(log, "worker", "--manifest", manifest.toString(), "--slots", Integer.toString(slots));
    }

    String log(String name) throws IOException {
        Path p = dir.resolve(name + ".log");
        return Files.exists(p) ? Files.readString(p) : "";
    }

    /** The JSON lines of a results file (complete lines only). */
    static List<JsonNode> results(Path file) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        if (!Files.exists(file)) return out;
        for (String line : Files.readAllLines(file)) {
            if (!line.isBlank()) out.add(JSON.readTree(line));
        }
        return out;
    }

    static long lines(Path file) {
        try {
            return Files.exists(file) ? Files.readAllLines(file).stream().filter(l -> l.endsWith("}")).count() : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    static void await(Duration timeout, String what, BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - end > 0) throw new AssertionError("timed out waiting until " + what);
            Thread.sleep(50);
        }
    }

    static int exitOf(Process p, Duration timeout) throws InterruptedException {
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("pid " + p.pid() + " still running after " + timeout);
        }
        return p.exitValue();
    }

    @Override
    public void close() throws InterruptedException {
        for (Process p : started) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        for (Process p : started) p.waitFor(10, TimeUnit.SECONDS);
    }
}
