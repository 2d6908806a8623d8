package io.taskbatch.worker;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * How a {@code command} task gets its input besides stdin: in {@code TASK_INPUT}, or, when an
 * environment string cannot carry it, in a file named by {@code TASK_INPUT_FILE}.
 *
 * <p>Linux refuses to exec a program with one environment string longer than 128 KiB
 * (MAX_ARG_STRLEN, 32 pages), and all of argv and the environment together share a quarter of the
 * stack limit; no environment string can hold a NUL. So an input longer than {@value #ENV_MAX_BYTES}
 * bytes (UTF-8) or containing NUL goes to a file instead: half the per-string limit, which leaves
 * the task room to pass {@code TASK_INPUT} on to programs it starts itself. Exactly one of the two
 * variables is set. The file holds the input's UTF-8 bytes (no newline added), is readable by the
 * worker's user only, lives in a private directory under {@code java.io.tmpdir}, and is deleted,
 * with its directory, when the attempt ends.
 */
final class TaskInput implements AutoCloseable {
    static final int ENV_MAX_BYTES = 64 * 1024;
    static final String VARIABLE = "TASK_INPUT";
    static final String FILE_VARIABLE = "TASK_INPUT_FILE";
    private static final Logger LOG = Logger.getLogger(TaskInput.class);

    private final String input;
    private final byte[] stdin;
    private final Path dir;
    private final Path file;

    private TaskInput(String input, byte[] stdin, Path dir, Path file) {
        this.input = input;
        this.stdin = stdin;
        this.dir = dir;
        this.file = file;
    }

    /** Writes the input to a file when it does not fit in the environment; a failure to write is a retryable one. */
    static TaskInput of(String input, long taskId, int attempt) throws TaskFailure {
        byte[] stdin = (input + "\n").getBytes(StandardCharsets.UTF_8);
        if (stdin.length - 1 <= ENV_MAX_BYTES && input.indexOf('\0') < 0) return new TaskInput(input, stdin, null, null);
        Path dir = null;
        try {
            // createTempDirectory makes it rwx------ on POSIX file systems
            dir = Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "taskbatch-task-" + taskId + "-" + attempt + "-");
            Path file = dir.resolve("input");
            if (FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
                Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            }
            try (OutputStream out = Files.newOutputStream(file)) {
                out.write(stdin, 0, stdin.length - 1);
            }
            return new TaskInput(input, stdin, dir, file);
        } catch (IOException | RuntimeException e) {
            deleteQuietly(dir);
            throw new TaskFailure("cannot write the task's input (" + (stdin.length - 1) + " bytes, more than fit in " + VARIABLE
                    + ") to a file for " + FILE_VARIABLE + ": " + e);
        }
    }

    /** Sets {@code TASK_INPUT} or {@code TASK_INPUT_FILE}, and removes the other (never one inherited from the worker). */
    void addTo(Map<String, String> env) {
        if (file == null) {
            env.put(VARIABLE, input);
            env.remove(FILE_VARIABLE);
        } else {
            env.put(FILE_VARIABLE, file.toString());
            env.remove(VARIABLE);
        }
    }

    /** The bytes for the child's stdin: the input, then a newline. */
    byte[] stdin() {
        return stdin;
    }

    /** The file named by {@code TASK_INPUT_FILE}, or null when the input is in {@code TASK_INPUT}. */
    Path file() {
        return file;
    }

    /** Deletes the file and its directory (with anything the task put there). */
    @Override
    public void close() {
        deleteQuietly(dir);
    }

    private static void deleteQuietly(Path dir) {
        if (dir == null) return;
        try (var paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // checked below
                }
            });
        } catch (IOException | RuntimeException ignored) {
            // checked below
        }
        if (Files.exists(dir)) LOG.warnf("could not delete %s", dir);
    }
}
