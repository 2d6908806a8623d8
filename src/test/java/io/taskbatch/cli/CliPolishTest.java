package io.taskbatch.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskbatch.master.Progress;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** What a user reads: suggestions for typos, the top-level help, the bar, plurals, the documented exit codes. */
class CliPolishTest {

    /** The command line as the jar builds it for {@code args} (with their subcommand alone, or all), run with them. */
    private static int execute(StringWriter out, StringWriter err, String... args) {
        CommandLine cli = CommandLineSetup.configure(CommandLineSetup.withSubcommands(new CommandLine(new TaskbatchCommand()), args));
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return cli.execute(args);
    }

    @Test
    void aRoleBuildsItsOwnSubcommandAloneAndAnythingElseGetsThemAll() {
        CommandLine worker = CommandLineSetup.withSubcommands(new CommandLine(new TaskbatchCommand()),
                new String[] {"worker", "--manifest", "m.yaml"});
        assertThat(worker.getSubcommands()).containsOnlyKeys("worker");
        for (String[] args : new String[][] {{}, {"--help"}, {"-V"}, {"opertor"}}) {
            CommandLine all = CommandLineSetup.withSubcommands(new CommandLine(new TaskbatchCommand()), args);
            assertThat(all.getSubcommands().keySet()).as(Arrays.toString(args)).containsExactlyElementsOf(TaskbatchCommand.SUBCOMMANDS.keySet());
        }
        // each by the name its own annotation gives it
        TaskbatchCommand.SUBCOMMANDS.forEach((name, type) ->
                assertThat(type.getAnnotation(CommandLine.Command.class).name()).isEqualTo(name));
        assertThat(TaskbatchCommand.SUBCOMMANDS.keySet()).containsAll(TaskbatchCommand.SUMMARIES.keySet());
    }

    @Test
    void aMistypedOptionGetsASuggestionAndNoUsageDump() {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = execute(out, err, "run", "--ouput", "x.jsonl", "FILE");
        assertThat(exit).isEqualTo(ExitCodes.INVALID);
        assertThat(err.toString()).startsWith("Unknown option: '--ouput'").contains("Did you mean --output?")
                .contains("taskbatch run --help").doesNotContain("Usage:").doesNotContain("--progress");
        assertThat(err.toString().lines().count()).isLessThanOrEqualTo(3);
        assertThat(out.toString()).isEmpty();
    }

    @Test
    void aMistypedSubcommandGetsASuggestion() {
        StringWriter err = new StringWriter();
        int exit = execute(new StringWriter(), err, "opertor");
        assertThat(exit).isEqualTo(ExitCodes.INVALID);
        assertThat(err.toString()).contains("'opertor'").contains("Did you mean operator").doesNotContain("Usage:");
    }

    @Test
    void theTopLevelHelpGivesEachSubcommandOneFullSentenceThatFits() {
        StringWriter out = new StringWriter();
        execute(out, new StringWriter(), "--help");
        String help = out.toString();
        assertThat(help).contains("Usage: taskbatch");
        String[] lines = help.split("\\R");
        for (String line : lines) assertThat(line.length()).as(line).isLessThanOrEqualTo(80);
        String commands = help.substring(help.indexOf("Commands:"));
        for (String sub : TaskbatchCommand.SUMMARIES.keySet()) {
            assertThat(commands).as(sub).containsPattern("(?m)^  " + sub + " +[A-Z][^\\n]*\\.$");
        }
        // every line with text of its own (descriptions, options, commands) ends a sentence
        Arrays.stream(lines).map(String::strip).filter(l -> !l.isEmpty())
                .filter(l -> !l.startsWith("Usage:") && !l.endsWith(":") && !l.startsWith("[") && !l.startsWith("COMMAND"))
                .forEach(l -> assertThat(l).as("a help line that stops mid-sentence").endsWith("."));
    }

    @Test
    void everyBarFrameFitsTheTerminalAndTheFirstIsPaintedAtStart() {
        StringWriter err = new StringWriter();
        ProgressPrinter printer = new ProgressPrinter("a-rather-long-batch-name", new PrintWriter(err, true),
                ProgressPrinter.Mode.BAR, 60);
        printer.start();
        assertThat(frames(err.toString())).as("painted before any progress").hasSize(1).first().asString().contains("starting");
        for (long done = 0; done <= 12_345_678; done += 1_234_567) {
            printer.onProgress(progress(done, 12_345_678));
        }
        assertThat(frames(err.toString())).hasSizeGreaterThan(5)
                .allSatisfy(f -> assertThat(f.length()).as(f).isLessThanOrEqualTo(60));
    }

    @Test
    void theWidthComesFromColumnsElse80() {
        assertThat(ProgressPrinter.terminalWidth("60")).isEqualTo(60);
        assertThat(ProgressPrinter.terminalWidth(null)).isEqualTo(80);
        assertThat(ProgressPrinter.terminalWidth("wide")).isEqualTo(80);
    }

    @Test
    void resultsOnTheSameTerminalClearTheBarFirstAndAreNeverCut() throws Exception {
        StringWriter err = new StringWriter();
        ProgressPrinter printer = new ProgressPrinter("b", new PrintWriter(err, true), ProgressPrinter.Mode.BAR, 80);
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        OutputStream guarded = printer.guard(stdout, true);
        printer.start();
        guarded.write("{\"id\":0}\n{\"id\"".getBytes(StandardCharsets.UTF_8));
        assertThat(err.toString()).endsWith("\r\033[K"); // the bar was cleared before the results
        int before = err.toString().length();
        printer.onProgress(progress(1, 5));
        assertThat(err.toString().length()).as("no bar while a result line is half written").isEqualTo(before);
        guarded.write(":1}\n".getBytes(StandardCharsets.UTF_8));
        printer.onProgress(progress(2, 5));
        assertThat(err.toString().substring(before)).contains("2/5 done");
        assertThat(stdout.toString(StandardCharsets.UTF_8)).isEqualTo("{\"id\":0}\n{\"id\":1}\n");
        assertThat(printer.guard(stdout, false)).as("not the same terminal: untouched").isSameAs(stdout);
    }

    @Test
    void countsHaveTheirPlurals() {
        assertThat(Plural.of(1, "task")).isEqualTo("1 task");
        assertThat(Plural.of(0, "task")).isEqualTo("0 tasks");
        assertThat(Plural.of(2, "slot")).isEqualTo("2 slots");
        assertThat(Plural.noun(1, "attempt")).isEqualTo("attempt");
    }

    @Test
    void theReadmeListsExactlyTheExitCodesThereAre() throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        String section = readme.substring(readme.indexOf("## `taskbatch run`"));
        section = section.substring(0, section.indexOf("\n## ", 1));
        String paragraph = section.substring(section.indexOf("Exit codes:"));
        paragraph = paragraph.substring(0, paragraph.indexOf("\n\n"));
        Set<Integer> documented = new TreeSet<>();
        Matcher m = Pattern.compile("`(\\d+)`").matcher(paragraph);
        while (m.find()) documented.add(Integer.parseInt(m.group(1)));
        Set<Integer> defined = new TreeSet<>();
        for (Field f : ExitCodes.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getType() == int.class) defined.add(f.getInt(null));
        }
        assertThat(documented).as(paragraph).isEqualTo(defined);
    }

    private static java.util.List<String> frames(String err) {
        return Arrays.stream(err.split("\r")).map(f -> f.replace("\033[K", "")).filter(f -> !f.isEmpty())
                .collect(Collectors.toList());
    }

    private static Progress progress(long done, long total) {
        // a rate of 1000/s so that the frames carry an ETA, their longest form
        return new Progress(total, total, true, done, 0, 0, 0, 0, 0, 0, java.time.Duration.ofMillis(done + 1), java.util.List.of());
    }
}
