package io.taskbatch.queue.amqp;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import com.rabbitmq.client.AMQP;
import io.taskbatch.queue.ResultMessage;
import io.taskbatch.queue.TaskMessage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Task and result messages as JSON bodies, strictly checked when read. Every task crosses the broker as a task, and its
 * result in a message of several, so this is the hot path of master and workers: Jackson's streaming parser and generator, field by field, with
 * no tree and no data binding in between (those took a third of the master's CPU).
 */
public final class MessageCodec {
    private static final JsonFactory JSON = JsonFactory.builder().build();
    static final String TASK_TYPE = "taskbatch.task.v1";
    static final String RESULT_TYPE = "taskbatch.result.v1";
    /** Several results in one message: each as {@link #encode(ResultMessage)} writes it, one per line (JSON lines). */
    static final String RESULTS_TYPE = "taskbatch.results.v1";

    private MessageCodec() {
    }

    /** A message that is not one of ours: why, in a sentence. */
    public static final class MalformedMessageException extends Exception {
        MalformedMessageException(String message) {
            super(message, null, false, false);
        }
    }

    public static byte[] encode(TaskMessage task) {
        ByteArrayBuilder out = new ByteArrayBuilder(64 + task.input().length());
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            g.writeNumberField("id", task.id());
            g.writeNumberField("attempt", task.attempt());
            g.writeStringField("input", task.input());
            if (!task.headers().isEmpty()) {
                g.writeObjectFieldStart("headers");
                for (Map.Entry<String, String> h : task.headers().entrySet()) g.writeStringField(h.getKey(), h.getValue());
                g.writeEndObject();
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode task " + task.id(), e);
        }
        return out.toByteArray();
    }

    /** A result as the results file has it ({@link ResultMessage}'s fields in their order, {@code dead} and {@code stderr} only when set). */
    public static byte[] encode(ResultMessage result) {
        ByteArrayBuilder out = new ByteArrayBuilder(160);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            g.writeNumberField("id", result.id());
            g.writeStringField("input", result.input());
            g.writeStringField("status", result.status().name().toLowerCase(java.util.Locale.ROOT));
            g.writeStringField("output", result.output());
            g.writeStringField("error", result.error());
            g.writeNumberField("attempts", result.attempts());
            g.writeNumberField("durationMs", result.durationMs());
            g.writeStringField("worker", result.worker());
            if (result.dead()) g.writeBooleanField("dead", true);
            if (result.stderr() != null) g.writeStringField("stderr", result.stderr());
            g.writeEndObject();
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode the result of task " + result.id(), e);
        }
        return out.toByteArray();
    }

    public static AMQP.BasicProperties taskProperties(TaskMessage task) {
        return new AMQP.BasicProperties.Builder().deliveryMode(2).contentType("application/json").type(TASK_TYPE)
                .messageId(task.id() + "/" + task.attempt()).build();
    }

    public static AMQP.BasicProperties resultProperties(ResultMessage result) {
        return new AMQP.BasicProperties.Builder().deliveryMode(2).contentType("application/json").type(RESULT_TYPE)
                .messageId(result.id() + "/" + result.attempts()).build();
    }

    /** A message of several results, one per line (see {@link #RESULTS_TYPE}). */
    public static final AMQP.BasicProperties RESULTS_PROPERTIES = new AMQP.BasicProperties.Builder().deliveryMode(2)
            .contentType("application/jsonl").type(RESULTS_TYPE).build();

    /** Whether a message of type {@code type} holds several results (one per line) rather than one. */
    public static boolean holdsSeveralResults(String type) {
        return RESULTS_TYPE.equals(type);
    }

    /**
     * The results of a message of several: each line is checked on its own, a malformed one is told to
     * {@code malformed} (with its line number) and left out, the others kept.
     */
    public static List<ResultMessage> decodeResults(byte[] body, Consumer<String> malformed) {
        List<ResultMessage> results = new ArrayList<>();
        int line = 0;
        for (int start = 0; start <= body.length; line++) {
            int end = start;
            while (end < body.length && body[end] != '\n') end++;
            if (end > start) {
                try {
                    results.add(decodeResult(body, start, end - start));
                } catch (MalformedMessageException e) {
                    malformed.accept("line " + (line + 1) + ": " + e.getMessage());
                }
            }
            start = end + 1;
        }
        return results;
    }

    public static TaskMessage decodeTask(byte[] body) throws MalformedMessageException {
        Long id = null;
        Long attempt = null;
        String input = null;
        boolean inputSeen = false;
        Map<String, String> headers = Map.of();
        try (JsonParser p = object(body, 0, body.length)) {
            for (String field; (field = p.nextFieldName()) != null; ) {
                JsonToken value = p.nextToken();
                switch (field) {
                    case "id" -> id = integerOrNull(p, value, field);
                    case "attempt" -> attempt = integerOrNull(p, value, field);
                    case "input" -> {
                        inputSeen = true;
                        input = value == JsonToken.VALUE_STRING ? p.getText() : null;
                    }
                    case "headers" -> headers = value == JsonToken.START_OBJECT ? headers(p) : skip(p, Map.of());
                    default -> p.skipChildren(); // a newer master's field: not ours to judge
                }
            }
        } catch (IOException e) {
            throw notJson(e);
        }
        long checkedId = inRange("id", id, 0, Long.MAX_VALUE);
        int checkedAttempt = (int) inRange("attempt", attempt, 1, Integer.MAX_VALUE);
        if (!inputSeen || input == null) throw new MalformedMessageException("field \"input\" must be a string");
        return new TaskMessage(checkedId, checkedAttempt, input, headers);
    }

    public static ResultMessage decodeResult(byte[] body) throws MalformedMessageException {
        return decodeResult(body, 0, body.length);
    }

    private static ResultMessage decodeResult(byte[] body, int offset, int length) throws MalformedMessageException {
        Long id = null;
        Long attempts = null;
        String status = null;
        String input = null;
        String output = null;
        String error = null;
        String worker = null;
        String stderr = null;
        long durationMs = 0;
        boolean dead = false;
        try (JsonParser p = object(body, offset, length)) {
            for (String field; (field = p.nextFieldName()) != null; ) {
                JsonToken value = p.nextToken();
                switch (field) {
                    case "id" -> id = integerOrNull(p, value, field);
                    case "attempts" -> attempts = integerOrNull(p, value, field);
                    case "status" -> status = value.isScalarValue() ? p.getText() : skip(p, null);
                    case "input" -> input = text(p, value, field);
                    case "output" -> output = text(p, value, field);
                    case "error" -> error = text(p, value, field);
                    case "worker" -> worker = text(p, value, field);
                    case "stderr" -> stderr = text(p, value, field);
                    case "durationMs" -> {
                        if (value != JsonToken.VALUE_NUMBER_INT) throw notAResult("field \"durationMs\" must be an integer");
                        durationMs = p.getLongValue();
                    }
                    case "dead" -> {
                        if (!value.isBoolean()) throw notAResult("field \"dead\" must be true or false");
                        dead = p.getBooleanValue();
                    }
                    default -> throw notAResult("unknown field \"" + field + "\"");
                }
            }
        } catch (IOException e) {
            throw notJson(e);
        }
        long checkedId = inRange("id", id, 0, Long.MAX_VALUE);
        int checkedAttempts = (int) inRange("attempts", attempts, 1, Integer.MAX_VALUE);
        ResultMessage.Status parsed = "succeeded".equals(status) ? ResultMessage.Status.SUCCEEDED
                : "failed".equals(status) ? ResultMessage.Status.FAILED : null;
        if (parsed == null) throw new MalformedMessageException("field \"status\" must be succeeded or failed");
        return new ResultMessage(checkedId, input, parsed, output, error, checkedAttempts, durationMs, worker, dead, stderr);
    }

    /** A parser standing on the body's opening brace. */
    private static JsonParser object(byte[] body, int offset, int length) throws MalformedMessageException {
        JsonParser p;
        JsonToken first;
        try {
            p = JSON.createParser(body, offset, length);
            first = p.nextToken();
        } catch (IOException e) {
            throw notJson(e);
        }
        if (first != JsonToken.START_OBJECT) {
            try {
                p.close();
            } catch (IOException ignored) {
                // a parser over a byte array holds nothing
            }
            throw new MalformedMessageException(first == null ? "not JSON: empty" : "not a JSON object");
        }
        return p;
    }

    /** The integer under the parser, or null when the value is not an integral number (then checked as missing). */
    private static Long integerOrNull(JsonParser p, JsonToken value, String field) throws IOException {
        if (value != JsonToken.VALUE_NUMBER_INT) {
            p.skipChildren();
            return null;
        }
        if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
            throw new Reject("field \"" + field + "\" is out of range: " + p.getText());
        }
        return p.getLongValue();
    }

    private static long inRange(String field, Long value, long min, long max) throws MalformedMessageException {
        if (value == null) throw new MalformedMessageException("field \"" + field + "\" must be an integer");
        if (value < min || value > max) throw new MalformedMessageException("field \"" + field + "\" is out of range: " + value);
        return value;
    }

    /** A text field of a result: a string or null (a number or boolean is taken as its text, as data binding did). */
    private static String text(JsonParser p, JsonToken value, String field) throws IOException {
        if (value == JsonToken.VALUE_NULL) return null;
        if (!value.isScalarValue()) throw notAResult("field \"" + field + "\" must be a string");
        return p.getText();
    }

    private static Map<String, String> headers(JsonParser p) throws IOException {
        Map<String, String> headers = new HashMap<>();
        for (String name; (name = p.nextFieldName()) != null; ) {
            JsonToken value = p.nextToken();
            headers.put(name, value.isScalarValue() && value != JsonToken.VALUE_NULL ? p.getText() : skip(p, ""));
        }
        return headers;
    }

    private static <T> T skip(JsonParser p, T instead) throws IOException {
        p.skipChildren();
        return instead;
    }

    /** A reason found while parsing, thrown as the parser's IOException so that one catch turns it into the malformed one. */
    private static final class Reject extends IOException {
        Reject(String reason) {
            super(reason, null);
        }
    }

    private static IOException notAResult(String reason) {
        return new Reject("not a result: " + reason);
    }

    private static MalformedMessageException notJson(IOException e) {
        if (e instanceof Reject) return new MalformedMessageException(e.getMessage());
        String first = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().lines().findFirst().orElse("");
        return new MalformedMessageException("not JSON: " + first);
    }
}
