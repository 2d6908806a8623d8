package io.taskbatch.queue.amqp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.taskbatch.queue.ResultMessage;
import io.taskbatch.queue.TaskMessage;
import io.taskbatch.master.JsonLinesSink;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MessageCodecTest {
    @Test
    void tasksAndResultsSurviveTheWire() throws Exception {
        TaskMessage task = new TaskMessage(42, 2, "héllo \"x\"\n", Map.of("traceId", "t-1"));
        assertThat(MessageCodec.decodeTask(MessageCodec.encode(task))).isEqualTo(task);
        TaskMessage plain = TaskMessage.first(Long.MAX_VALUE, "");
        assertThat(MessageCodec.decodeTask(MessageCodec.encode(plain))).isEqualTo(plain);
        // a field a newer master adds is not this worker's to judge
        assertThat(MessageCodec.decodeTask("{\"id\":1,\"attempt\":2,\"input\":\"x\",\"new\":{\"a\":[1]},\"headers\":{\"n\":5}}"
                .getBytes(StandardCharsets.UTF_8))).isEqualTo(new TaskMessage(1, 2, "x", Map.of("n", "5")));
        ResultMessage result = ResultMessage.failed(task, "boom", 12, "w1");
        assertThat(MessageCodec.decodeResult(MessageCodec.encode(result))).isEqualTo(result);
    }

    @Test
    void aResultOnTheWireIsTheLineTheResultsFileHasAndEveryFieldComesBack() throws Exception {
        TaskMessage task = new TaskMessage(7, 3, "in \"q\" ü", Map.of());
        List<ResultMessage> results = List.of(
                ResultMessage.succeeded(task, "out\n", "warn: x", 12, "w/1"),
                ResultMessage.failed(task, "boom", 3, "w/2"),
                ResultMessage.dead(task, 4, "dead: gone"),
                new ResultMessage(Long.MAX_VALUE, null, ResultMessage.Status.SUCCEEDED, null, null, Integer.MAX_VALUE,
                        Long.MAX_VALUE, null, true, "e"));
        for (ResultMessage result : results) {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            try (JsonLinesSink sink = new JsonLinesSink(line, true)) {
                sink.write(result);
            }
            assertThat(new String(MessageCodec.encode(result), StandardCharsets.UTF_8) + "\n").isEqualTo(line.toString(StandardCharsets.UTF_8));
            // a record component the codec forgot would come back as its default
            assertThat(MessageCodec.decodeResult(MessageCodec.encode(result))).isEqualTo(result);
        }
    }

    @Test
    void aMessageOfSeveralResultsKeepsEveryWellFormedLineAndNamesTheBadOnes() {
        TaskMessage task = new TaskMessage(7, 1, "a\nb", Map.of());
        ResultMessage first = ResultMessage.succeeded(task, "out\nmore", "", 3, "w/1");
        ResultMessage second = ResultMessage.failed(TaskMessage.first(8, "x"), "boom\n", 4, "w/1");
        ResultMessage third = ResultMessage.succeeded(TaskMessage.first(9, "y"), "", 0, "w/1");
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(MessageCodec.encode(first));
        body.writeBytes("\n{\"id\":1,\"attempts\":1}\n".getBytes(StandardCharsets.UTF_8));
        body.writeBytes(MessageCodec.encode(second));
        body.writeBytes("\nnot json\n".getBytes(StandardCharsets.UTF_8));
        body.writeBytes(MessageCodec.encode(third));
        List<String> bad = new ArrayList<>();
        // the newlines inside the results' texts are escaped on the wire: one line per result
        assertThat(MessageCodec.decodeResults(body.toByteArray(), bad::add)).containsExactly(first, second, third);
        assertThat(bad).hasSize(2);
        assertThat(bad.get(0)).startsWith("line 2: ").contains("status");
        assertThat(bad.get(1)).startsWith("line 4: not JSON");
        assertThat(MessageCodec.decodeResults(new byte[0], bad::add)).isEmpty();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "{\"id\":1,\"attempts\":1,\"status\":\"cancelled\"}|field \"status\" must be succeeded or failed",
            "{\"id\":1,\"attempts\":1,\"status\":\"succeeded\",\"extra\":1}|not a result: unknown field \"extra\"",
            "{\"id\":1,\"attempts\":1,\"status\":\"failed\",\"error\":{}}|field \"error\" must be a string",
            "{\"id\":1,\"attempts\":1,\"status\":\"failed\",\"durationMs\":\"5\"}|field \"durationMs\" must be an integer",
            "{\"id\":1,\"attempts\":0,\"status\":\"failed\"}|field \"attempts\" is out of range: 0",
            "{\"id\":1,\"attempts\":1,\"status\":\"failed\",\"dead\":1}|field \"dead\" must be true or false",
            "{\"id\":1,\"attempts\":1,\"status\":\"failed\"|not JSON"})
    void malformedResultsAreRejectedWithAReason(String body, String reason) {
        assertThatThrownBy(() -> MessageCodec.decodeResult(body.getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(MessageCodec.MalformedMessageException.class).hasMessageContaining(reason);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "''|not JSON",
            "{\"id\": 99999999999999999999, \"attempt\": 1, \"input\": \"x\"}|field \"id\" is out of range: 99999999999999999999",
            "{\"id\": 1, \"attempt\": 1, \"input\": null}|field \"input\" must be a string",
            "not json|not JSON",
            "[1]|not a JSON object",
            "{}|field \"id\" must be an integer",
            "{\"id\": \"7\", \"attempt\": 1, \"input\": \"x\"}|field \"id\" must be an integer",
            "{\"id\": -1, \"attempt\": 1, \"input\": \"x\"}|field \"id\" is out of range",
            "{\"id\": 1, \"attempt\": 0, \"input\": \"x\"}|field \"attempt\" is out of range",
            "{\"id\": 1.5, \"attempt\": 1, \"input\": \"x\"}|field \"id\" must be an integer",
            "{\"id\": 1, \"attempt\": 1}|field \"input\" must be a string",
            "{\"id\": 1, \"attempt\": 1, \"input\": 5}|field \"input\" must be a string"})
    void malformedTasksAreRejectedWithAReason(String body, String reason) {
        assertThatThrownBy(() -> MessageCodec.decodeTask(body.getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(MessageCodec.MalformedMessageException.class).hasMessageContaining(reason);
    }

    @Test
    void aResultWithoutAStatusIsMalformed() {
        assertThatThrownBy(() -> MessageCodec.decodeResult("{\"id\":1,\"attempts\":1}".getBytes(StandardCharsets.UTF_8)))
                .hasMessageContaining("status");
    }
}
