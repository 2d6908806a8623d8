package io.taskbatch.master;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.taskbatch.queue.ResultMessage;
import java.io.IOException;
import java.io.OutputStream;

/** One JSON object per result, one per line, each line complete as soon as it is flushed. */
public final class JsonLinesSink implements ResultSink {
    private static final ObjectMapper MAPPER = new ObjectMapper()
            .disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET)
            .disable(SerializationFeature.FLUSH_AFTER_WRITE_VALUE);
    private static final ObjectWriter WRITER = MAPPER.writerFor(ResultMessage.class);

    private final OutputStream target;
    private final boolean closeTarget;
    private final JsonGenerator generator;

    /** @param closeTarget false for stdout, which outlives the sink */
    public JsonLinesSink(OutputStream target, boolean closeTarget) throws IOException {
        this.target = target;
        this.closeTarget = closeTarget;
        this.generator = MAPPER.getFactory().createGenerator(target);
        this.generator.setRootValueSeparator(null);
    }

    @Override
    public void write(ResultMessage result) throws IOException {
        WRITER.writeValue(generator, result);
        generator.writeRaw('\n');
    }

    @Override
    public void flush() throws IOException {
        generator.flush();
    }

    @Override
    public void close() throws IOException {
        generator.flush();
        generator.close();
        if (closeTarget) target.close();
    }
}
