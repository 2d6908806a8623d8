package io.taskbatch.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.net.ConnectException;
import org.junit.jupiter.api.Test;

class ApiErrorsTest {
    @Test
    void theApiServersMessageWinsWhereverItIsInTheChain() {
        var forbidden = new KubernetesClientException(new StatusBuilder().withCode(403)
                .withMessage("jobs.batch is forbidden: User \"u\" cannot create resource \"jobs\"").build());
        var wrapped = new RuntimeException("reconcile failed", new IllegalStateException("dependent", forbidden));
        assertThat(ApiErrors.describe(wrapped)).isEqualTo("jobs.batch is forbidden: User \"u\" cannot create resource \"jobs\"");
        assertThat(ApiErrors.fromServer(wrapped)).containsSame(forbidden);
    }

    @Test
    void withoutOneItIsTheRootCause() {
        var refused = new ConnectException("Connection refused");
        var wrapped = new KubernetesClientException("Operation: [get] failed", new RuntimeException(refused));
        assertThat(ApiErrors.fromServer(wrapped)).isEmpty();
        assertThat(ApiErrors.root(wrapped)).isSameAs(refused);
        assertThat(ApiErrors.describe(wrapped)).isEqualTo("ConnectException: Connection refused");
    }
}
