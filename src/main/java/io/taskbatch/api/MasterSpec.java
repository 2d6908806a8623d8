package io.taskbatch.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import io.fabric8.kubernetes.api.model.Affinity;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Toleration;
import java.util.List;
import java.util.Map;

/** The master pod of a batch: its size and where it may run. */
public class MasterSpec {
    @JsonPropertyDescription("CPU request of the master pod; default: the operator's setting (250m unless configured).")
    private String cpu;
    @JsonPropertyDescription("Memory request and limit of the master pod; default: the operator's setting (512Mi unless configured).")
    private String memory;
    @JsonPropertyDescription("Node labels the master pod must match.")
    private Map<String, String> nodeSelector;
    @JsonPropertyDescription("Tolerations of the master pod.")
    @JsonDeserialize(using = DeferredModelDeserializer.class)
    private List<Toleration> tolerations;
    @JsonPropertyDescription("Scheduling constraints of the master pod (a core/v1 Affinity: kubectl explain pod.spec.affinity).")
    @JsonDeserialize(using = DeferredModelDeserializer.class)
    private Affinity affinity;
    @JsonPropertyDescription("PriorityClass of the master pod.")
    private String priorityClassName;
    @JsonPropertyDescription("A core/v1 pod template merged into the master pod, by the rules of spec.workers.template; "
            + "its container is the one named master, and its ServiceAccount is the operator's.")
    @JsonDeserialize(using = DeferredModelDeserializer.class)
    private PodTemplateSpec template;

    public String getCpu() { return cpu; }
    public void setCpu(String cpu) { this.cpu = cpu; }
    public String getMemory() { return memory; }
    public void setMemory(String memory) { this.memory = memory; }
    public Map<String, String> getNodeSelector() { return nodeSelector; }
    public void setNodeSelector(Map<String, String> nodeSelector) { this.nodeSelector = nodeSelector; }
    public List<Toleration> getTolerations() { return tolerations; }
    public void setTolerations(List<Toleration> tolerations) { this.tolerations = tolerations; }
    public Affinity getAffinity() { return affinity; }
    public void setAffinity(Affinity affinity) { this.affinity = affinity; }
    public String getPriorityClassName() { return priorityClassName; }
    public void setPriorityClassName(String priorityClassName) { this.priorityClassName = priorityClassName; }
    public PodTemplateSpec getTemplate() { return template; }
    public void setTemplate(PodTemplateSpec template) { this.template = template; }
}
