package io.taskbatch.master;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * The lines of a UTF-8 text, decoded one at a time, so that a line that is not UTF-8 is reported with its number
 * and the column of its first bad byte (the JDK's decoder says only "Input length = 1", for a buffer of 8192
 * characters), and reading can go on with the next line. Lines end at {@code \n}, {@code \r} or {@code \r\n}, as for
 * {@link java.io.BufferedReader#readLine}. Nothing is replaced: a bad byte is an error, as it is for
 * {@link java.nio.file.Files#newBufferedReader}.
 */
public final class Utf8LineReader implements Closeable {
    private final InputStream in;
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    private long lineNumber;
    private boolean skipLf;

    /** A line that is not UTF-8; the reader has gone past it, to the next line. */
    public static final class MalformedLineException extends IOException {
        private final long line;
        private final int badByte;
        private final long column;

        MalformedLineException(long line, int badByte, long column) {
            super(String.format(Locale.ROOT, "line %d is not valid UTF-8 (byte 0x%02x at column %d)", line, badByte, column));
            this.line = line;
            this.badByte = badByte;
            this.column = column;
        }

        /** The same as {@link #getMessage}, naming the text the line is of: {@code line 7 of tasks.txt is ...}. */
        public String describe(String text) {
            return String.format(Locale.ROOT, "line %d of %s is not valid UTF-8 (byte 0x%02x at column %d)", line, text,
                    badByte, column);
        }
    }

    public Utf8LineReader(InputStream in) {
        this.in = new BufferedInputStream(in, 1 << 16);
    }

    /**
     * The next line without its end, or null at the end of the text.
     *
     * @throws MalformedLineException when the line is not UTF-8 (call again for the next line)
     */
    public String readLine() throws IOException {
        line.reset();
        int b;
        while ((b = in.read()) != -1) {
            if (skipLf) {
                skipLf = false;
                if (b == '\n') continue;
            }
            if (b == '\n') break;
            if (b == '\r') {
                skipLf = true;
                break;
            }
            line.write(b);
        }
        if (b == -1 && line.size() == 0) return null;
        lineNumber++;
        ByteBuffer bytes = ByteBuffer.wrap(line.toByteArray());
        CharBuffer chars = CharBuffer.allocate(bytes.remaining()); // UTF-8 never has more characters than bytes
        CoderResult result = decoder.reset().decode(bytes, chars, true);
        if (!result.isError()) result = decoder.flush(chars);
        if (result.isError()) {
            chars.flip();
            throw new MalformedLineException(lineNumber, bytes.get(bytes.position()) & 0xff,
                    chars.codePoints().count() + 1);
        }
        return chars.flip().toString();
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
