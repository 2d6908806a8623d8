package io.taskbatch.queue.amqp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.taskbatch.queue.ResultMessage;
import io.taskbatch.queue.TaskMessage;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MessageCodecTest {
    @Test
    void tasksAndResultsSurviveTheWire() throws Exception {
        TaskMessage task = new TaskMessage(42, 2, "héllo \"x\"\n", Map.of("traceId", "t-1"));
        assertThat(MessageCodec.decodeTask(MessageCodec.encode(task))).isEqualTo(task);
        ResultMessage result = ResultMessage.failed(task, "boom", 12, "w1");
        assertThat(MessageCodec.decodeResult(MessageCodec.encode(result))).isEqualTo(result);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
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
