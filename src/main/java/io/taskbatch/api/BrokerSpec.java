package io.taskbatch.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** A RabbitMQ broker given by a Secret holding its AMQP URI. */
public class BrokerSpec {
    @JsonPropertyDescription("Secret with key 'uri' (amqp:// or amqps://) and optionally 'ca.crt'.")
    private SecretRef secretRef;

    public SecretRef getSecretRef() { return secretRef; }
    public void setSecretRef(SecretRef secretRef) { this.secretRef = secretRef; }

    public static class SecretRef {
        @JsonPropertyDescription("Name of the Secret in the batch's namespace.")
        private String name;

        public String getName() { return name; }
        public void setName(String name) { this.name = name; }
    }
}
