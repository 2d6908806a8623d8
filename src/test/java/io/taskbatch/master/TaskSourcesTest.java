package io.taskbatch.master;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TaskSourcesTest {

    private static List<String> all(TaskSource source) throws Exception {
        try (Stream<String> s = source.inputs()) {
            return s.toList();
        }
    }

    @Test
    void rangeIsInclusiveAndHonoursStep() throws Exception {
        assertThat(all(new RangeSource(1, 10, 3))).containsExactly("1", "4", "7", "10");
        assertThat(new RangeSource(1, 10, 3).count()).isEqualTo(4);
        assertThat(all(new RangeSource(5, 1, -2))).containsExactly("5", "3", "1");
        assertThat(new RangeSource(1, 1_000_000_000_000L, 1).count()).isEqualTo(1_000_000_000_000L);
    }

    @Test
    void rangeStreamsWithoutHoldingTheList() throws Exception {
        // a trillion tasks: only streaming can answer this
        try (Stream<String> s = new RangeSource(1, 1_000_000_000_000L, 1).inputs()) {
            assertThat(s.skip(5).findFirst()).contains("6");
        }
    }

    private static LinesSource lines(String text, boolean failTask) {
        return lines(text.getBytes(StandardCharsets.UTF_8), failTask);
    }

    private static LinesSource lines(byte[] bytes, boolean failTask) {
        return new LinesSource("file tasks.txt", "tasks.txt", failTask, () -> new ByteArrayInputStream(bytes));
    }

    private static List<TaskSource.Entry> entries(TaskSource source) throws Exception {
        try (Stream<TaskSource.Entry> s = source.entries()) {
            return s.toList();
        }
    }

    /** ok, a blank line, a line with a bad byte in its third column, z; then a truncated two-byte sequence at the end. */
    private static final byte[] TWO_BAD_LINES = {'o', 'k', '\n', '\n', 'b', 'a', (byte) 0xff, 'd', '\n', 'z', '\n', 'x', (byte) 0xc3};

    /** Issue 12: one bad byte used to fail the batch with "Input length = 1", naming neither line nor file. */
    @Test
    void withFailBatchALineThatIsNotUtf8FailsTheSourceNamingLineFileAndColumn() throws Exception {
        LinesSource source = lines(TWO_BAD_LINES, false);
        assertThatThrownBy(source::count).isInstanceOf(IOException.class)
                .hasMessageStartingWith("line 3 of tasks.txt is not valid UTF-8 (byte 0xff at column 3): fix the line")
                .hasMessageContaining("sourceErrors: failTask");
        try (Stream<String> s = source.inputs()) {
            var it = s.iterator();
            assertThat(it.next()).isEqualTo("ok");
            assertThatThrownBy(it::hasNext).isInstanceOf(UncheckedIOException.class)
                    .hasMessageContaining("line 3 of tasks.txt is not valid UTF-8");
        }
    }

    /** Issue 12: with failTask a bad line keeps its position (its task id) and says why; the lines after it still come. */
    @Test
    void withFailTaskALineThatIsNotUtf8IsAnUnreadableEntryInItsPlace() throws Exception {
        LinesSource source = lines(TWO_BAD_LINES, true);
        assertThat(source.count()).as("bad lines count as tasks, blank ones do not").isEqualTo(4);
        List<TaskSource.Entry> entries = entries(source);
        assertThat(entries).extracting(TaskSource.Entry::input).containsExactly("ok", null, "z", null);
        assertThat(entries.get(1).error()).isEqualTo("line 3 of tasks.txt is not valid UTF-8 (byte 0xff at column 3), so its "
                + "task never ran: fix the line, or set spec.tasks.sourceErrors: failBatch to stop the batch at such a line");
        assertThat(entries.get(3).error()).as("a sequence cut short by the end of the text")
                .startsWith("line 5 of tasks.txt is not valid UTF-8 (byte 0xc3 at column 2)");
        assertThat(entries).filteredOn(e -> e.input() != null).extracting(TaskSource.Entry::error).containsOnlyNulls();
    }

    @Test
    void theColumnCountsCharactersAndLinesEndAsForBufferedReader() throws Exception {
        byte[] text = "é€\r\nsecond\rthird\n\r\nfifth é".getBytes(StandardCharsets.UTF_8);
        byte[] bad = new byte[text.length + 2];
        System.arraycopy(text, 0, bad, 0, text.length);
        bad[text.length] = (byte) 0x80;
        bad[text.length + 1] = '!';
        List<TaskSource.Entry> entries = entries(lines(bad, true));
        assertThat(entries).extracting(TaskSource.Entry::input).containsExactly("é€", "second", "third", null);
        assertThat(entries.get(3).error()).as("\\r\\n, \\r and \\n end a line; the column counts characters, not bytes")
                .startsWith("line 5 of tasks.txt is not valid UTF-8 (byte 0x80 at column 8)");
        String plain = "a\r\nb\rc\n\nd";
        try (BufferedReader reader = new BufferedReader(new StringReader(plain))) {
            assertThat(all(lines(plain, true))).as("the same lines as BufferedReader")
                    .containsExactlyElementsOf(reader.lines().filter(l -> !l.isBlank()).toList());
        }
    }

    @Test
    void linesSkipBlankLinesAndCanBeReadTwice() throws Exception {
        LinesSource source = lines("a\n\nb\n  \nc\n", true);
        assertThat(source.count()).isEqualTo(3);
        assertThat(all(source)).containsExactly("a", "b", "c");
        assertThat(entries(source)).extracting(TaskSource.Entry::input).containsExactly("a", "b", "c");
    }

    @Test
    void sourcesThatCannotFailPerInputHaveOnlyInputs() throws Exception {
        assertThat(entries(new ItemsSource(List.of("x", "y")))).containsExactly(TaskSource.Entry.of("x"), TaskSource.Entry.of("y"));
    }

    @Test
    void filesAreWalkedInSortedOrderAndMatchTheGlob(@TempDir Path root) throws Exception {
        for (String f : List.of("logs/b.gz", "logs/a.gz", "logs/notes.txt", "logs/2024/c.gz", "top.gz", "other/d.gz")) {
            Path p = root.resolve(f);
            Files.createDirectories(p.getParent());
            Files.writeString(p, f);
        }
        FilesSource flat = new FilesSource(root, "logs/*.gz");
        assertThat(all(flat)).containsExactly(root.resolve("logs/a.gz").toString(), root.resolve("logs/b.gz").toString());
        FilesSource deep = new FilesSource(root, "**/*.gz");
        assertThat(all(deep)).as("** also stands for no directory").containsExactly(
                root.resolve("logs/2024/c.gz").toString(), root.resolve("logs/a.gz").toString(),
                root.resolve("logs/b.gz").toString(), root.resolve("other/d.gz").toString(),
                root.resolve("top.gz").toString());
        assertThat(deep.count()).isEqualTo(5);
        assertThat(all(new FilesSource(root, "logs/**/*.gz"))).containsExactly(root.resolve("logs/2024/c.gz").toString(),
                root.resolve("logs/a.gz").toString(), root.resolve("logs/b.gz").toString());
    }
}
