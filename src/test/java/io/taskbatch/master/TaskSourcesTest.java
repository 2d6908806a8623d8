package io.taskbatch.master;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.StringReader;
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

    /** Issue 12: one bad byte used to fail the batch with "Input length = 1", naming neither line nor file. */
    @Test
    void aLineThatIsNotUtf8IsNamedByItsNumber(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("tasks.txt");
        Files.write(file, new byte[] {'o', 'k', '\n', '\n', 'b', 'a', (byte) 0xff, 'd', '\n', 'z', '\n'});
        LinesSource source = new LinesSource("file tasks.txt",
                () -> new BufferedReader(new StrictUtf8Reader(Files.newInputStream(file))));
        org.assertj.core.api.Assertions.assertThatThrownBy(source::count).isInstanceOf(java.io.IOException.class)
                .hasMessageStartingWith("line 3 is not valid UTF-8: save the text as UTF-8");
        try (Stream<String> s = source.inputs()) {
            var it = s.iterator();
            assertThat(it.next()).isEqualTo("ok");
            org.assertj.core.api.Assertions.assertThatThrownBy(it::hasNext).isInstanceOf(java.io.UncheckedIOException.class)
                    .hasMessageContaining("line 3 is not valid UTF-8");
        }
    }

    @Test
    void linesSkipBlankLinesAndCanBeReadTwice() throws Exception {
        LinesSource source = new LinesSource("text", () -> new BufferedReader(new StringReader("a\n\nb\n  \nc\n")));
        assertThat(source.count()).isEqualTo(3);
        assertThat(all(source)).containsExactly("a", "b", "c");
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
