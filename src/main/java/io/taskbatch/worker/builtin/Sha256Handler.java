package io.taskbatch.worker.builtin;

import io.taskbatch.worker.TaskFailure;
import io.taskbatch.worker.TaskHandler;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;

/** The SHA-256 of the file at the input path (on a volume the worker shares with the master). */
@ApplicationScoped
public class Sha256Handler implements TaskHandler {
    private static final int BUFFER = 64 * 1024;

    @Override
    public String name() {
        return "sha256";
    }

    /** SHA-256 runs about ten times faster with C2's intrinsics than compiled by C1 alone (measured: 830 vs 75 MB/s). */
    @Override
    public boolean needsOptimizingCompiler() {
        return true;
    }

    @Override
    public String handle(String input) throws Exception {
        Path path = Path.of(input.strip());
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        byte[] buffer = new byte[BUFFER];
        try (InputStream in = Files.newInputStream(path)) {
            int n;
            while ((n = in.read(buffer)) > 0) {
                digest.update(buffer, 0, n);
                if (Thread.interrupted()) throw new InterruptedException();
            }
        } catch (NoSuchFileException e) {
            throw TaskFailure.permanent("sha256: no such file: " + path);
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
