package io.taskbatch.operator;

import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.PolicyRuleBuilder;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.dependent.GarbageCollected;
import io.javaoperatorsdk.operator.processing.dependent.Creator;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.CRUDKubernetesDependentResource;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependentResource;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;
import io.taskbatch.api.TaskBatch;
import java.util.ArrayList;
import java.util.List;

/**
 * The master's identity: a ServiceAccount, and a Role that lets it read its own TaskBatch, patch
 * that batch's status (a merge patch of the master's fields), read the ConfigMap its tasks come from
 * and patch its results ConfigMap. Nothing else, and nothing of any other batch: every rule names
 * its object, and each verb is one the master's requests need (the flow test proves both ways).
 */
public final class MasterIdentityDependents {
    private MasterIdentityDependents() {
    }

    /** The rules of a batch's master Role. */
    static List<PolicyRule> rules(TaskBatch batch) {
        String name = batch.getMetadata().getName();
        List<PolicyRule> rules = new ArrayList<>();
        rules.add(new PolicyRuleBuilder().withApiGroups(TaskBatch.GROUP).withResources("taskbatches")
                .withResourceNames(name).withVerbs("get").build());
        rules.add(new PolicyRuleBuilder().withApiGroups(TaskBatch.GROUP).withResources("taskbatches/status")
                .withResourceNames(name).withVerbs("patch").build());
        List<String> readable = new ArrayList<>();
        if (batch.getSpec().getTasks().getConfigMap() != null) readable.add(batch.getSpec().getTasks().getConfigMap().getName());
        if (!readable.isEmpty()) {
            rules.add(new PolicyRuleBuilder().withApiGroups("").withResources("configmaps")
                    .withResourceNames(readable).withVerbs("get").build());
        }
        if (batch.getSpec().getResults().getClaimName() == null) {
            // a redrive's master reads the previous round's results from it
            List<String> verbs = BatchRounds.current(batch) > 0 ? List.of("get", "patch") : List.of("patch");
            rules.add(new PolicyRuleBuilder().withApiGroups("").withResources("configmaps")
                    .withResourceNames(BatchLabels.resultsConfigMap(batch)).withVerbs(verbs).build());
        }
        return rules;
    }

    /** Created once and never changed (its name is all there is to it): no update, so no {@code update} verb. */
    @KubernetesDependent(informer = @Informer(labelSelector = BatchLabels.MANAGED_SELECTOR))
    public static class Account extends KubernetesDependentResource<ServiceAccount, TaskBatch>
            implements Creator<ServiceAccount, TaskBatch>, GarbageCollected<TaskBatch> {
        public Account() {
            super(ServiceAccount.class);
        }

        @Override
        protected ServiceAccount desired(TaskBatch batch, Context<TaskBatch> context) {
            return new ServiceAccountBuilder().withNewMetadata().withName(BatchLabels.masterIdentity(batch))
                    .withNamespace(batch.getMetadata().getNamespace()).withLabels(BatchLabels.of(batch, BatchLabels.MASTER))
                    .endMetadata().build();
        }
    }

    /** Kept as desired: a Role edited by hand (or by a changed spec) is put back. */
    @KubernetesDependent(informer = @Informer(labelSelector = BatchLabels.MANAGED_SELECTOR))
    public static class MasterRole extends CRUDKubernetesDependentResource<Role, TaskBatch> {
        public MasterRole() {
            super(Role.class);
        }

        @Override
        protected Role desired(TaskBatch batch, Context<TaskBatch> context) {
            return new RoleBuilder().withNewMetadata().withName(BatchLabels.masterIdentity(batch))
                    .withNamespace(batch.getMetadata().getNamespace()).withLabels(BatchLabels.of(batch, BatchLabels.MASTER))
                    .endMetadata().withRules(rules(batch)).build();
        }
    }

    /** Created once: its roleRef cannot change, and its subject is the Account's fixed name. */
    @KubernetesDependent(informer = @Informer(labelSelector = BatchLabels.MANAGED_SELECTOR))
    public static class Binding extends KubernetesDependentResource<RoleBinding, TaskBatch>
            implements Creator<RoleBinding, TaskBatch>, GarbageCollected<TaskBatch> {
        public Binding() {
            super(RoleBinding.class);
        }

        @Override
        protected RoleBinding desired(TaskBatch batch, Context<TaskBatch> context) {
            String name = BatchLabels.masterIdentity(batch);
            return new RoleBindingBuilder().withNewMetadata().withName(name)
                    .withNamespace(batch.getMetadata().getNamespace()).withLabels(BatchLabels.of(batch, BatchLabels.MASTER))
                    .endMetadata()
                    .withNewRoleRef("rbac.authorization.k8s.io", "Role", name)
                    .addNewSubject().withKind("ServiceAccount").withName(name)
                    .withNamespace(batch.getMetadata().getNamespace()).endSubject()
                    .build();
        }
    }
}
