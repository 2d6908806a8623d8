package io.taskbatch.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskbatch.api.TaskBatch;
import io.taskbatch.api.TaskBatchStatus;
import io.taskbatch.plan.ManifestLoader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The batch commands' text: the get table, ages, the reader pod's log and how it is read back. */
class ClusterCliTest {

    @Test
    void theTableHasThePrinterColumnsOfTheCrdInItsOrder() throws Exception {
        assertThat(BatchTable.headers(true, false)).containsExactly("NAME", "PHASE", "DONE", "FAILED", "WORKERS", "RATE", "ETA",
                "AGE", "MESSAGE");
        assertThat(BatchTable.headers(true, false).subList(1, 9)).isEqualTo(TaskBatch.PRINTER_COLUMNS);
        assertThat(BatchTable.headers(false, true)).startsWith("NAMESPACE", "NAME").doesNotContain("MESSAGE");

        TaskBatch running = batch("squares");
        TaskBatchStatus s = new TaskBatchStatus();
        s.setPhase("Running");
        s.setDone("61234/100000");
        s.setFailed(0L);
        s.setWorkers("8/8");
        s.setRate("4210/s");
        s.setEta("10s");
        running.setStatus(s);
        running.getMetadata().setCreationTimestamp("2026-01-01T00:00:00Z");
        TaskBatch fresh = batch("a-much-longer-name");
        fresh.getMetadata().setCreationTimestamp("2026-01-01T00:00:10Z");
        String table = BatchTable.render(List.of(running, fresh), false, false, Instant.parse("2026-01-01T00:00:15Z"));
        assertThat(table).isEqualTo("""
                NAME                 PHASE     DONE           FAILED   WORKERS   RATE     ETA      AGE
                squares              Running   61234/100000   0        8/8       4210/s   10s      15s
                a-much-longer-name   <none>    <none>         <none>   <none>    <none>   <none>   5s
                """);
    }

    @Test
    void agesAreWrittenAsKubectlWritesThem() {
        assertThat(BatchTable.humanDuration(Duration.ofSeconds(-1))).isEqualTo("0s");
        assertThat(BatchTable.humanDuration(Duration.ofSeconds(-5))).isEqualTo("<invalid>");
        assertThat(BatchTable.humanDuration(Duration.ofSeconds(45))).isEqualTo("45s");
        assertThat(BatchTable.humanDuration(Duration.ofSeconds(119))).isEqualTo("119s");
        assertThat(BatchTable.humanDuration(Duration.ofSeconds(190))).isEqualTo("3m10s");
        assertThat(BatchTable.humanDuration(Duration.ofMinutes(5))).isEqualTo("5m");
        assertThat(BatchTable.humanDuration(Duration.ofMinutes(25).plusSeconds(7))).isEqualTo("25m");
        assertThat(BatchTable.humanDuration(Duration.ofMinutes(5 * 60 + 3))).isEqualTo("5h3m");
        assertThat(BatchTable.humanDuration(Duration.ofHours(12))).isEqualTo("12h");
        assertThat(BatchTable.humanDuration(Duration.ofHours(76))).isEqualTo("3d4h");
        assertThat(BatchTable.humanDuration(Duration.ofDays(20))).isEqualTo("20d");
        assertThat(BatchTable.humanDuration(Duration.ofDays(3 * 365 + 4))).isEqualTo("3y4d");
        assertThat(BatchTable.age(null, Instant.now())).isEqualTo("<unknown>");
    }

    @Test
    void theReaderWritesCompleteResultsOnceEachBetweenItsMarkers() throws Exception {
        String file = """
                {"id":0,"status":"succeeded","output":"a"}
                {"id":1,"status":"failed","error":"no"}
                {"id":0,"status":"succeeded","output":"a"}
                {"id":2,"status":"succeeded"}
                {"id":3,"status":"fai""";
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        long written = ResultLines.writeMarked(new ByteArrayInputStream(file.getBytes(StandardCharsets.UTF_8)), false,
                new PrintStream(bytes, true, StandardCharsets.UTF_8));
        assertThat(written).isEqualTo(3);
        assertThat(bytes.toString(StandardCharsets.UTF_8)).isEqualTo("""
                taskbatch-results-begin
                {"id":0,"status":"succeeded","output":"a"}
                {"id":1,"status":"failed","error":"no"}
                {"id":2,"status":"succeeded"}
                taskbatch-results-end lines=3
                """);
        bytes.reset();
        ResultLines.writeMarked(new ByteArrayInputStream(file.getBytes(StandardCharsets.UTF_8)), true,
                new PrintStream(bytes, true, StandardCharsets.UTF_8));
        assertThat(bytes.toString(StandardCharsets.UTF_8)).contains("\"id\":1").doesNotContain("\"id\":0").endsWith("lines=1\n");
    }

    @Test
    void aLogReadAgainAfterAStreamThatEndedEarlyGivesEachResultOnceAndOnlyWhatIsBetweenTheMarkers() throws Exception {
        String whole = """
                WARNING: something the JVM says
                taskbatch-results-note: a note
                taskbatch-results-begin
                {"id":0,"status":"succeeded"}
                {"id":1,"status":"failed"}
                {"id":2,"status":"succeeded"}
                taskbatch-results-end lines=3
                """;
        List<String> out = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        ResultLines lines = new ResultLines(false, out::add);
        ResultLines.ReaderLog log = new ResultLines.ReaderLog(lines, notes::add);
        String cut = whole.substring(0, whole.indexOf("{\"id\":2") + 5); // the follow stream ends mid-line
        ResultLines.completeLines(new ByteArrayInputStream(cut.getBytes(StandardCharsets.UTF_8)), log::line);
        assertThat(out).hasSize(2);
        assertThat(log.written()).isEmpty();
        log.again();
        ResultLines.completeLines(new ByteArrayInputStream(whole.getBytes(StandardCharsets.UTF_8)), log::line);
        assertThat(out).containsExactly("{\"id\":0,\"status\":\"succeeded\"}", "{\"id\":1,\"status\":\"failed\"}",
                "{\"id\":2,\"status\":\"succeeded\"}");
        assertThat(log.written()).hasValue(3);
        assertThat(lines.kept()).isEqualTo(3);
        assertThat(notes).containsExactly("a note");
    }

    @Test
    void theWatchShowsTheStatusCountsAsTheLocalEngineDoes() {
        TaskBatchStatus s = new TaskBatchStatus();
        s.setTotal(10L);
        s.setSucceeded(6L);
        s.setFailed(1L);
        s.setDead(1L);
        s.setRetried(2L);
        TaskBatchStatus.FailedTask f = new TaskBatchStatus.FailedTask();
        f.setId(4);
        f.setInput("x");
        f.setError("boom");
        f.setAttempts(3);
        s.setFailedTasks(List.of(f));
        var p = BatchWatch.progress(s, Duration.ofSeconds(2));
        assertThat(p.done()).isEqualTo(7);
        assertThat(p.total()).isEqualTo(10);
        assertThat(p.publishingDone()).isTrue();
        assertThat(p.firstFailures()).singleElement().satisfies(r -> {
            assertThat(r.id()).isEqualTo(4);
            assertThat(r.error()).isEqualTo("boom");
            assertThat(r.attempts()).isEqualTo(3);
        });
        assertThat(BatchWatch.progress(new TaskBatchStatus(), Duration.ZERO).total()).as("not counted yet").isEqualTo(-1);
    }

    private static TaskBatch batch(String name) throws Exception {
        TaskBatch b = ManifestLoader.parse("""
                apiVersion: taskbatch.io/v1alpha1
                kind: TaskBatch
                metadata: {name: %s, namespace: ns}
                spec:
                  tasks: {range: {from: 1, to: 3}}
                  run: {builtin: square}
                """.formatted(name), Path.of("x.yaml")).batch();
        return b;
    }
}
