package io.taskbatch.master;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * UTF-8 text from bytes, decoded a line at a time so that a byte that is not UTF-8 is reported with the number of
 * its line (the JDK's decoder says only "Input length = 1", for a buffer of 8192 characters). Nothing is replaced:
 * a bad byte is an error, as it is for {@link java.nio.file.Files#newBufferedReader}.
 */
public final class StrictUtf8Reader extends Reader {
    private final InputStream in;
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    private CharBuffer decoded = CharBuffer.allocate(0);
    private long lineNumber;
    private boolean eof;

    public StrictUtf8Reader(InputStream in) {
        this.in = new BufferedInputStream(in, 1 << 16);
    }

    @Override
    public int read(char[] buf, int off, int len) throws IOException {
        if (len == 0) return 0;
        while (!decoded.hasRemaining()) {
            if (eof || !nextLine()) return -1;
        }
        int n = Math.min(len, decoded.remaining());
        decoded.get(buf, off, n);
        return n;
    }

    /** Reads and decodes the next line, its newline included; false at the end. */
    private boolean nextLine() throws IOException {
        line.reset();
        int b;
        while ((b = in.read()) != -1) {
            line.write(b);
            if (b == '\n') break;
        }
        if (line.size() == 0) {
            eof = true;
            return false;
        }
        lineNumber++;
        try {
            decoded = decoder.reset().decode(ByteBuffer.wrap(line.toByteArray()));
        } catch (CharacterCodingException e) {
            throw new IOException("line " + lineNumber + " is not valid UTF-8: save the text as UTF-8, or remove the byte"
                    + " that is not (" + e.getMessage() + ")", e);
        }
        return true;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
