package io.taskbatch.queue.amqp;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.rabbitmq.client.AMQP;
import io.taskbatch.queue.ResultMessage;
import io.taskbatch.queue.TaskMessage;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/** Task and result messages as JSON bodies, strictly checked when read. */
public final class MessageCodec {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String TASK_TYPE = "taskbatch.task.v1";
    static final String RESULT_TYPE = "taskbatch.result.v1";

    private MessageCodec() {
    }

    /** A message that is not one of ours: why, in a sentence. */
    public static final class MalformedMessageException extends Exception {
        MalformedMessageException(String message) {
            super(message, null, false, false);
        }
    }

    public static byte[] encode(TaskMessage task) {
        Map<String, Object> body = new HashMap<>();
        body.put("id", task.id());
        body.put("attempt", task.attempt());
        body.put("input", task.input());
        if (!task.headers().isEmpty()) body.put("headers", task.headers());
        return write(body);
    }

    public static byte[] encode(ResultMessage result) {
        return write(result);
    }

    private static byte[] write(Object value) {
        try {
            return JSON.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode " + value, e);
        }
    }

    public static AMQP.BasicProperties taskProperties(TaskMessage task) {
        return new AMQP.BasicProperties.Builder().deliveryMode(2).contentType("application/json").type(TASK_TYPE)
                .messageId(task.id() + "/" + task.attempt()).build();
    }

    public static AMQP.BasicProperties resultProperties(ResultMessage result) {
        return new AMQP.BasicProperties.Builder().deliveryMode(2).contentType("application/json").type(RESULT_TYPE)
                .messageId(result.id() + "/" + result.attempts()).build();
    }

    public static TaskMessage decodeTask(byte[] body) throws MalformedMessageException {
        JsonNode node = tree(body);
        long id = integer(node, "id", 0, Long.MAX_VALUE);
        int attempt = (int) integer(node, "attempt", 1, Integer.MAX_VALUE);
        JsonNode input = node.get("input");
        if (input == null || !input.isTextual()) throw new MalformedMessageException("field \"input\" must be a string");
        Map<String, String> headers = new HashMap<>();
        JsonNode h = node.get("headers");
        if (h != null && h.isObject()) h.fields().forEachRemaining(e -> headers.put(e.getKey(), e.getValue().asText()));
        return new TaskMessage(id, attempt, input.asText(), headers);
    }

    public static ResultMessage decodeResult(byte[] body) throws MalformedMessageException {
        JsonNode node = tree(body);
        integer(node, "id", 0, Long.MAX_VALUE);
        integer(node, "attempts", 1, Integer.MAX_VALUE);
        JsonNode status = node.get("status");
        if (status == null || !("succeeded".equals(status.asText()) || "failed".equals(status.asText()))) {
            throw new MalformedMessageException("field \"status\" must be succeeded or failed");
        }
        try {
            return JSON.treeToValue(node, ResultMessage.class);
        } catch (JsonProcessingException e) {
            throw new MalformedMessageException("not a result: " + e.getOriginalMessage());
        }
    }

    private static JsonNode tree(byte[] body) throws MalformedMessageException {
        JsonNode node;
        try {
            node = JSON.readTree(body);
        } catch (IOException e) {
            throw new MalformedMessageException("not JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (node == null || !node.isObject()) throw new MalformedMessageException("not a JSON object");
        return node;
    }

    private static long integer(JsonNode node, String field, long min, long max) throws MalformedMessageException {
        JsonNode value = node.get(field);
        if (value == null || !value.canConvertToLong() || !value.isIntegralNumber()) {
            throw new MalformedMessageException("field \"" + field + "\" must be an integer");
        }
        long v = value.asLong();
        if (v < min || v > max) throw new MalformedMessageException("field \"" + field + "\" is out of range: " + v);
        return v;
    }
}
