package io.taskbatch.worker;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/** Keeps the last {@code cap} bytes of a stream (a child's stderr). Safe to read while another thread drains. */
final class TailBuffer {
    private final byte[] ring;
    private long total;

    TailBuffer(int cap) {
        this.ring = new byte[cap];
    }

    /** Reads {@code in} to EOF (or an error) and closes it. */
    void drain(InputStream in) {
        byte[] chunk = new byte[4096];
        try (in) {
            int n;
            while ((n = in.read(chunk)) > 0) append(chunk, n);
        } catch (IOException ignored) {
            // the stream was closed under us because the process was killed
        }
    }

    synchronized void append(byte[] bytes, int n) {
        int from = Math.max(0, n - ring.length); // only the last ring.length bytes can survive
        int pos = (int) ((total + from) % ring.length);
        int first = Math.min(n - from, ring.length - pos);
        System.arraycopy(bytes, from, ring, pos, first);
        System.arraycopy(bytes, from + first, ring, 0, n - from - first);
        total += n;
    }

    /** Bytes written so far: a mark for {@link #textSince}. */
    synchronized long total() {
        return total;
    }

    synchronized String text() {
        return textSince(0);
    }

    /** What was written after {@code mark} (a {@link #total()}), as far as the buffer still holds it. */
    synchronized String textSince(long mark) {
        int len = (int) Math.min(Math.max(0, total - mark), ring.length);
        int start = (int) ((total - len) % ring.length);
        byte[] out = new byte[len];
        int first = Math.min(len, ring.length - start);
        System.arraycopy(ring, start, out, 0, first);
        System.arraycopy(ring, 0, out, first, len - first);
        int skip = 0;
        // a cut tail may start in the middle of a UTF-8 character
        while (total > len && skip < Math.min(3, len) && (out[skip] & 0xC0) == 0x80) skip++;
        return new String(out, skip, len - skip, StandardCharsets.UTF_8);
    }
}
