package io.taskbatch.worker;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Keeps the first {@code cap} bytes of a stream (a child's stdout) and counts the rest. */
final class HeadBuffer {
    private final int cap;
    private byte[] buf = new byte[8192];
    private int len;
    private long total;

    HeadBuffer(int cap) {
        this.cap = cap;
    }

    /** What {@link #text()} ends with when the stream was longer than {@code cap}. */
    static String truncationMarker(int cap) {
        return "…[output truncated at " + cap + " bytes]";
    }

    /** Reads {@code in} to EOF (or an error) and closes it. */
    void drain(InputStream in) {
        byte[] chunk = new byte[8192];
        try (in) {
            int n;
            while ((n = in.read(chunk)) > 0) {
                total += n;
                int keep = Math.min(n, cap - len);
                if (keep <= 0) continue; // keep reading so the child never blocks on a full pipe
                if (len + keep > buf.length) buf = Arrays.copyOf(buf, Math.min(cap, Math.max(len + keep, buf.length * 2)));
                System.arraycopy(chunk, 0, buf, len, keep);
                len += keep;
            }
        } catch (IOException ignored) {
            // the stream was closed under us because the process was killed
        }
    }

    boolean truncated() {
        return total > len;
    }

    /** The text, without one trailing newline; with a marker when the stream was longer than the cap. */
    String text() {
        if (truncated()) {
            int end = len;
            // do not cut a UTF-8 character in half: drop its leading bytes too
            int back = 0;
            while (back < 3 && end - back > 0 && (buf[end - back - 1] & 0xC0) == 0x80) back++;
            if (back > 0 && end - back > 0 && (buf[end - back - 1] & 0xC0) == 0xC0) end = end - back - 1;
            return new String(buf, 0, end, StandardCharsets.UTF_8) + truncationMarker(cap);
        }
        int end = len > 0 && buf[len - 1] == '\n' ? len - 1 : len;
        return new String(buf, 0, end, StandardCharsets.UTF_8);
    }
}
