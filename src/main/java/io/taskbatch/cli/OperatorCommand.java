package io.taskbatch.cli;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.OperatorException;
import io.taskbatch.cluster.ApiErrors;
import io.taskbatch.operator.OperatorLeaderElection;
import io.quarkus.runtime.Quarkus;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import java.util.concurrent.Callable;
import org.jboss.logging.Logger;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code taskbatch operator}: reconciles TaskBatches until stopped. */
@Command(name = "operator", mixinStandardHelpOptions = true,
        description = {"Reconcile TaskBatches: start each batch's master and worker Jobs, size the workers to the",
                "cluster, and keep the status true. Settings come from taskbatch.operator.* properties or",
                "TASKBATCH_OPERATOR_* variables; the watched namespaces from",
                "QUARKUS_OPERATOR_SDK_CONTROLLERS_TASKBATCH_NAMESPACES (default: all). In a pod (POD_NAMESPACE set)",
                "the replicas elect a leader through a Lease; only the leader reconciles."})
public class OperatorCommand implements Callable<Integer> {
    private static final Logger LOG = Logger.getLogger(OperatorCommand.class);

    // Instances, resolved in call() only: picocli creates every subcommand at start, and the other roles must not pay
    // for an Operator, its Kubernetes client and its leader election (start-up, threads) they never use.
    @Inject
    Instance<Operator> operatorBean;

    @Inject
    RoleReadiness readiness;

    @Inject
    Instance<KubernetesClient> clientBean;

    @Inject
    Instance<OperatorLeaderElection> leaderElectionBean;

    private KubernetesClient client;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        Operator operator = operatorBean.get();
        OperatorLeaderElection leaderElection = leaderElectionBean.get();
        client = clientBean.get();
        readiness.serve("operator", () -> operator.getRuntimeInfo().isStarted()
                && operator.getRuntimeInfo().allEventSourcesAreHealthy(), "the operator's informers are not all running");
        String invalid = leaderElection.invalid();
        if (invalid != null) {
            spec.commandLine().getErr().println("cannot start the operator: " + invalid);
            return ExitCodes.INVALID;
        }
        try {
            operator.start();
        } catch (OperatorException e) {
            spec.commandLine().getErr().println("cannot start the operator: " + whyNot(e));
            return ExitCodes.UNAVAILABLE;
        }
        LOG.info("taskbatch operator started; " + leaderElection.describe());
        Quarkus.waitForExit();
        // a leader that lost its Lease exits so that it stops reconciling; its pod restarts and stands by
        return leaderElection.lost() ? ExitCodes.UNAVAILABLE : ExitCodes.SUCCEEDED;
    }

    /** One line: what the API server said, or that it could not be reached and what to do. */
    private String whyNot(Throwable e) {
        var fromServer = ApiErrors.fromServer(e);
        if (fromServer.isPresent()) {
            String said = fromServer.get().getStatus().getMessage();
            return fromServer.get().getCode() == 404 ? said + " (install the CRD first: kubectl apply --server-side -f k8s/crd/)" : said;
        }
        Throwable root = ApiErrors.root(e);
        if (root instanceof java.net.ConnectException || root instanceof java.net.UnknownHostException) {
            return "the Kubernetes API at " + client.getMasterUrl() + " cannot be reached (" + root.getMessage()
                    + "). Run it in a cluster, or point KUBECONFIG (or QUARKUS_KUBERNETES_CLIENT_API_SERVER_URL) at one.";
        }
        return ApiErrors.describe(e);
    }
}
