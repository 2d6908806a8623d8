package io.taskbatch.operator;

import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.ShutdownEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.context.Dependent;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.event.Reception;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Inject;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * Leader election for several operator replicas, as JOSDK does it: every replica runs its informers, only the holder
 * of the Lease reconciles. The Operator SDK takes the {@link LeaderElectionConfiguration} bean produced here when it
 * builds its configuration (for the profiles of {@code quarkus.operator-sdk.activate-leader-election-for-profiles});
 * none (null) when election is off or no namespace is known, so {@code taskbatch operator} on a laptop reconciles
 * alone. A leader that loses the Lease (it could not renew in time) exits, so that it cannot go on reconciling beside
 * the new leader; its pod restarts and stands by.
 */
@ApplicationScoped
public class OperatorLeaderElection {
    private static final Logger LOG = Logger.getLogger(OperatorLeaderElection.class);

    private final OperatorConfig.LeaderElection config;
    /** The Lease holder's name: the pod's (POD_NAME), else HOSTNAME (the pod's too), else random. */
    private final String identity;
    private volatile boolean shuttingDown;
    private volatile boolean lost;

    @Inject
    public OperatorLeaderElection(OperatorConfig config) {
        this.config = config.leaderElection();
        this.identity = this.config.identity().filter(id -> !id.isBlank())
                .or(() -> Optional.ofNullable(System.getenv("HOSTNAME")).filter(h -> !h.isBlank()))
                .orElseGet(() -> java.util.UUID.randomUUID().toString());
    }

    /** The Lease's namespace when election is on, else empty. */
    public Optional<String> leaseNamespace() {
        return config.enabled() ? config.leaseNamespace().filter(ns -> !ns.isBlank()) : Optional.empty();
    }

    /** Why these settings cannot work (the Lease would be lost while its holder runs), or null. */
    public String invalid() {
        if (leaseNamespace().isEmpty()) return null;
        if (config.leaseDuration().compareTo(config.renewDeadline()) <= 0) {
            return "taskbatch.operator.leader-election.lease-duration (" + config.leaseDuration()
                    + ") must be longer than its renew-deadline (" + config.renewDeadline() + ")";
        }
        if (config.renewDeadline().compareTo(config.retryPeriod()) <= 0) {
            return "taskbatch.operator.leader-election.renew-deadline (" + config.renewDeadline()
                    + ") must be longer than its retry-period (" + config.retryPeriod() + ")";
        }
        return null;
    }

    /** One line for the log: which Lease, or why there is none. */
    public String describe() {
        return leaseNamespace().map(ns -> "leader election: Lease " + ns + "/" + config.leaseName() + " as "
                + identity + ", lease " + config.leaseDuration().toSeconds() + "s, renew deadline "
                + config.renewDeadline().toSeconds() + "s, retry " + config.retryPeriod().toMillis() + "ms")
                .orElse(config.enabled() ? "no leader election (no namespace: POD_NAMESPACE unset): run one replica only"
                        : "no leader election (switched off): run one replica only");
    }

    /** True once this replica led and lost the Lease: it exits. */
    public boolean lost() {
        return lost;
    }

    @Produces
    @Dependent
    LeaderElectionConfiguration configuration() {
        Optional<String> namespace = leaseNamespace();
        if (namespace.isEmpty()) return null;
        // exitOnStopLeading false: JOSDK would System.exit from inside a shutdown; stopped() exits through Quarkus
        return new LeaderElectionConfiguration(config.leaseName(), namespace.get(), config.leaseDuration(),
                config.renewDeadline(), config.retryPeriod(), identity,
                new LeaderCallbacks(this::started, this::stopped, this::newLeader), false);
    }

    private void started() {
        LOG.infof("leading: this replica (%s) holds Lease %s and reconciles", identity, config.leaseName());
    }

    private void newLeader(String identity) {
        LOG.infof("the leader is %s", identity);
    }

    private void stopped() {
        if (shuttingDown) return;
        lost = true;
        LOG.errorf("lost Lease %s (not renewed within %ss): exiting, to stand by again after a restart",
                config.leaseName(), config.renewDeadline().toSeconds());
        Quarkus.asyncExit();
    }

    // IF_EXISTS: only the operator role has built this bean; the other roles must not build it at their exit
    void onShutdown(@Observes(notifyObserver = Reception.IF_EXISTS) ShutdownEvent event) {
        shuttingDown = true;
    }
}
