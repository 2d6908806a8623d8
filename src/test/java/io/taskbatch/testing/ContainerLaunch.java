package io.taskbatch.testing;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * One start of a pod's container as the {@link Kubelet} runs it: host paths throughout (mount paths rewritten).
 *
 * @param command   the argv actually run (the process is started under {@code setsid}, which is not listed)
 * @param env       the whole environment given to the process
 * @param workingDir the process's working directory
 * @param apiAccess whether the pod got an API token, i.e. the kubelet's {@code apiEnv}
 * @param hostPorts the host port standing in for each declared container port, by the port's name (else its number)
 */
public record ContainerLaunch(List<String> command, Map<String, String> env, Path workingDir, boolean apiAccess,
                              Map<String, Integer> hostPorts) {

    public ContainerLaunch {
        command = List.copyOf(command);
        env = Map.copyOf(env);
        hostPorts = Map.copyOf(hostPorts);
    }
}
