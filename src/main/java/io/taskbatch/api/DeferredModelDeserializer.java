package io.taskbatch.api;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.BeanProperty;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.deser.ContextualDeserializer;
import java.io.IOException;

/**
 * For a field of a Kubernetes model type (a pod template, an affinity, tolerations): Jackson builds the type's
 * deserializer when a manifest has the field, not when it first binds a TaskBatch. Building it eagerly loaded several
 * hundred core/v1 model classes in every worker and master, whose manifest seldom has one (issue 13, start-up).
 * The value is bound by the same mapper and deserializer as without this, so errors and their paths are the same.
 */
public final class DeferredModelDeserializer extends JsonDeserializer<Object> implements ContextualDeserializer {
    private final JavaType type;

    public DeferredModelDeserializer() {
        this(null);
    }

    private DeferredModelDeserializer(JavaType type) {
        this.type = type;
    }

    @Override
    public JsonDeserializer<?> createContextual(DeserializationContext ctxt, BeanProperty property) {
        return new DeferredModelDeserializer(property != null ? property.getType() : ctxt.getContextualType());
    }

    @Override
    public Object deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
        return ctxt.readValue(p, type);
    }
}
