package io.taskbatch.operator;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** When the operator elects a leader, with which settings, and which settings it refuses. */
class OperatorLeaderElectionTest {

    /** The operator's settings with these leader-election values (the rest of OperatorConfig is not asked). */
    static OperatorConfig config(Map<String, Object> values) {
        Map<String, Object> all = new HashMap<>(Map.of("enabled", true, "leaseName", "taskbatch-operator",
                "leaseNamespace", Optional.empty(), "identity", Optional.empty(), "leaseDuration", Duration.ofSeconds(15),
                "renewDeadline", Duration.ofSeconds(10), "retryPeriod", Duration.ofSeconds(2)));
        all.putAll(values);
        var election = (OperatorConfig.LeaderElection) Proxy.newProxyInstance(OperatorConfig.class.getClassLoader(),
                new Class<?>[] {OperatorConfig.LeaderElection.class}, (p, m, a) -> all.get(m.getName()));
        return (OperatorConfig) Proxy.newProxyInstance(OperatorConfig.class.getClassLoader(), new Class<?>[] {OperatorConfig.class},
                (p, m, a) -> {
                    if (m.getName().equals("leaderElection")) return election;
                    throw new UnsupportedOperationException(m.getName());
                });
    }

    @Test
    void withoutANamespaceTheOperatorReconcilesAlone() {
        var election = new OperatorLeaderElection(config(Map.of()));
        assertThat(election.configuration()).as("no election: JOSDK gets none").isNull();
        assertThat(election.invalid()).isNull();
        assertThat(election.describe()).startsWith("no leader election (no namespace: POD_NAMESPACE unset)");
        var blank = new OperatorLeaderElection(config(Map.of("leaseNamespace", Optional.of(" "))));
        assertThat(blank.configuration()).isNull();
    }

    @Test
    void switchedOffItDoesNotElectEvenInAPod() {
        var election = new OperatorLeaderElection(config(Map.of("enabled", false, "leaseNamespace", Optional.of("taskbatch-system"))));
        assertThat(election.configuration()).isNull();
        assertThat(election.describe()).startsWith("no leader election (switched off)");
    }

    @Test
    void inAPodItHoldsTheLeaseOfItsNamespaceUnderThePodsName() {
        var election = new OperatorLeaderElection(config(Map.of("leaseNamespace", Optional.of("taskbatch-system"),
                "identity", Optional.of("taskbatch-operator-7d9f-abcde"), "retryPeriod", Duration.ofMillis(500))));
        var c = election.configuration();
        assertThat(c.getLeaseName()).isEqualTo("taskbatch-operator");
        assertThat(c.getLeaseNamespace()).contains("taskbatch-system");
        assertThat(c.getIdentity()).contains("taskbatch-operator-7d9f-abcde");
        assertThat(c.getLeaseDuration()).isEqualTo(Duration.ofSeconds(15));
        assertThat(c.getRenewDeadline()).isEqualTo(Duration.ofSeconds(10));
        assertThat(c.getRetryPeriod()).isEqualTo(Duration.ofMillis(500));
        assertThat(c.isExitOnStopLeading()).as("never System.exit inside a shutdown: we exit through Quarkus").isFalse();
        assertThat(c.getLeaderCallbacks()).isPresent();
        assertThat(election.describe()).isEqualTo("leader election: Lease taskbatch-system/taskbatch-operator as "
                + "taskbatch-operator-7d9f-abcde, lease 15s, renew deadline 10s, retry 500ms");
        assertThat(election.lost()).isFalse();
    }

    @Test
    void timingsThatWouldLoseTheLeaseAreRefused() {
        var ns = Optional.of("taskbatch-system");
        assertThat(new OperatorLeaderElection(config(Map.of("leaseNamespace", ns, "renewDeadline", Duration.ofSeconds(15))))
                .invalid()).contains("lease-duration (PT15S) must be longer than its renew-deadline (PT15S)");
        assertThat(new OperatorLeaderElection(config(Map.of("leaseNamespace", ns, "retryPeriod", Duration.ofSeconds(10))))
                .invalid()).contains("renew-deadline (PT10S) must be longer than its retry-period (PT10S)");
        assertThat(new OperatorLeaderElection(config(Map.of("renewDeadline", Duration.ofSeconds(15)))).invalid())
                .as("no election, nothing to refuse").isNull();
    }
}
