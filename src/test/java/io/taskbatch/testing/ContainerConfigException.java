package io.taskbatch.testing;

/** A container that cannot be configured (a missing Secret, ConfigMap or key): Kubernetes' CreateContainerConfigError. */
final class ContainerConfigException extends Exception {

    ContainerConfigException(String message) {
        super(message);
    }
}
