package io.taskbatch.packaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kind integration test script, k8s/kind/run.sh, where it can be tested without Docker: it
 * passes shellcheck, and without Docker, kind or helm (or with a Docker daemon that does not
 * answer) it skips with exit code 77 and a clear message, before it builds or creates anything.
 * Its full run needs Docker and kind, so it is run by hand: k8s/kind/run.sh.
 */
class KindScriptTest {
    private static final Path SCRIPT = Path.of("k8s/kind/run.sh").toAbsolutePath();
    private static final int SKIPPED = 77;

    @TempDir
    Path tmp;

    @Test
    void passesShellcheck() throws Exception {
        Result result;
        try {
            result = run(List.of("shellcheck", "--version"), null);
        } catch (IOException e) {
            throw new AssertionError("shellcheck is not installed: apt-get install -y shellcheck "
                    + "(bin/test installs it)", e);
        }
        assertThat(result.exit).as("shellcheck --version").isZero();
        Result lint = run(List.of("shellcheck", SCRIPT.toString()), null);
        assertThat(lint.exit).as("shellcheck k8s/kind/run.sh:%n%s%s", lint.stdout, lint.stderr).isZero();
    }

    @Test
    void withoutDockerKindAndHelmItSkipsWith77AndTouchesNothing() throws Exception {
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        Path calls = tmp.resolve("calls");
        fakeTool(bin, "kubectl", calls, 0);   // present, so the message names only the missing ones

        Result result = runScript(bin);

        assertThat(result.exit).as("exit code; stderr: %s", result.stderr).isEqualTo(SKIPPED);
        assertThat(result.stderr).contains("SKIP: docker, kind, helm not found")
                .contains("needs Docker, kind, kubectl and helm");
        assertThat(result.stdout).doesNotContain("==>");
        assertThat(calls).as("no tool was run").doesNotExist();
    }

    @Test
    void withDockerButWithoutKindAndHelmItNamesThemAndOnlyAsksDockerInfo() throws Exception {
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        Path calls = tmp.resolve("calls");
        fakeTool(bin, "docker", calls, 0);
        fakeTool(bin, "kubectl", calls, 0);

        Result result = runScript(bin);

        assertThat(result.exit).as("exit code; stderr: %s", result.stderr).isEqualTo(SKIPPED);
        assertThat(result.stderr).contains("SKIP: kind, helm not found").doesNotContain("docker,");
        assertThat(calls).as("no tool was run, not even docker info").doesNotExist();
    }

    @Test
    void whenTheDockerDaemonDoesNotAnswerItSkipsWith77() throws Exception {
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        Path calls = tmp.resolve("calls");
        fakeTool(bin, "docker", calls, 1);   // docker info fails, as with no daemon running
        for (String tool : List.of("kind", "kubectl", "helm")) fakeTool(bin, tool, calls, 0);

        Result result = runScript(bin);

        assertThat(result.exit).as("exit code; stderr: %s", result.stderr).isEqualTo(SKIPPED);
        assertThat(result.stderr).contains("SKIP: docker daemon not reachable");
        assertThat(result.stdout).doesNotContain("==>");
        assertThat(Files.readAllLines(calls)).as("only docker info ran: nothing built, no cluster created")
                .containsExactly("docker info");
    }

    @Test
    void helpDocumentsTheOptionsAndTheSkipExitCode() throws Exception {
        Result result = run(List.of(bash(), SCRIPT.toString(), "--help"), null);

        assertThat(result.exit).isZero();
        assertThat(result.stdout).contains("--keep").contains("--name NAME").contains("77  skipped");
    }

    @Test
    void anUnknownOptionIsAUsageError() throws Exception {
        Result result = run(List.of(bash(), SCRIPT.toString(), "--bogus"), null);

        assertThat(result.exit).isEqualTo(2);
        assertThat(result.stderr).contains("unknown argument: --bogus").contains("Usage:");
    }

    /** The script under bash, with PATH holding only {@code bin}: what the test put there, nothing else. */
    private Result runScript(Path bin) throws Exception {
        return run(List.of(bash(), SCRIPT.toString()), Map.of("PATH", bin.toString(), "HOME", tmp.toString()));
    }

    /** A stand-in for a tool: records "name args" to {@code calls} and exits with {@code exit}. */
    private static void fakeTool(Path bin, String name, Path calls, int exit) throws IOException {
        Path tool = bin.resolve(name);
        Files.writeString(tool, "#!" + bash() + "\n"
                + "echo \"" + name + " $*\" >> '" + calls + "'\n"
                + "exit " + exit + "\n");
        Files.setPosixFilePermissions(tool, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    /** An absolute bash, so the script needs nothing on its PATH to start. */
    private static String bash() {
        for (String candidate : List.of("/bin/bash", "/usr/bin/bash")) {
            if (Files.isExecutable(Path.of(candidate))) return candidate;
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path candidate = Path.of(dir, "bash");
            if (Files.isExecutable(candidate)) return candidate.toString();
        }
        return fail("no bash found");
    }

    private record Result(int exit, String stdout, String stderr) {
    }

    /** Runs a command; with {@code env} non-null, in exactly that environment. */
    private Result run(List<String> command, Map<String, String> env) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(new ArrayList<>(command)).directory(tmp.toFile());
        if (env != null) {
            builder.environment().clear();
            builder.environment().putAll(env);
        }
        Path out = Files.createTempFile(tmp, "out", ".txt");
        Path err = Files.createTempFile(tmp, "err", ".txt");
        builder.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process process = builder.start();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail("timed out: " + command);
        }
        return new Result(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }
}
