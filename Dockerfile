# taskbatch: one image for every role; the first argument picks it (operator, master, worker, run, ...).
#   docker build -t ghcr.io/taskbatch/taskbatch:0.1.0 .
#   docker run --rm -v "$PWD/k8s/examples:/data:ro" ghcr.io/taskbatch/taskbatch:0.1.0 run /data/squares.yaml

# ---- build ----
FROM maven:3.9-eclipse-temurin-21 AS build
WORKDIR /src
# Wrapper and pom first: the dependency layer below is rebuilt only when they change, not on every source edit.
COPY mvnw ./
COPY .mvn/ .mvn/
COPY pom.xml ./
# Downloads Maven (pinned by the wrapper) and the dependencies once, as a cached layer of its own.
RUN chmod +x mvnw && ./mvnw -B -ntp dependency:go-offline
COPY src/ src/
# Tests run in CI (bin/test), not in the image build; whatever go-offline missed is fetched here.
RUN ./mvnw -B -ntp package -DskipTests

# ---- run ----
FROM eclipse-temurin:21-jre
# tini as PID 1 reaps the children that command and processPool tasks leave behind, and forwards SIGTERM to java.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
# A fixed non-root uid/gid (10001), the one the operator's pods and the manifests under k8s/ run as.
RUN groupadd --gid 10001 taskbatch \
 && useradd --uid 10001 --gid 10001 --no-log-init --no-create-home --home-dir /tmp --shell /usr/sbin/nologin taskbatch
# On a cluster the root filesystem is read-only; /tmp is the one writable place (an emptyDir).
ENV HOME=/tmp
WORKDIR /deployments
# The four layers of the Quarkus fast-jar, least to most often changed, so a code change re-pushes only app/.
COPY --from=build --chown=10001:10001 /src/target/quarkus-app/lib/ /deployments/lib/
COPY --from=build --chown=10001:10001 /src/target/quarkus-app/*.jar /deployments/
COPY --from=build --chown=10001:10001 /src/target/quarkus-app/app/ /deployments/app/
COPY --from=build --chown=10001:10001 /src/target/quarkus-app/quarkus/ /deployments/quarkus/
# AppCDS: an archive of the classes a run loads, made here by this image's own JVM (an archive only fits the JVM build
# that wrote it) from a small in-memory batch; every role maps it at start (about 0.5-0.7 s less CPU per JVM measured).
RUN printf 'apiVersion: taskbatch.io/v1alpha1\nkind: TaskBatch\nmetadata: {name: cds}\nspec:\n  tasks: {range: {from: 1, to: 2000}}\n  run: {builtin: square}\n' > /tmp/cds.yaml \
 && java -XX:ArchiveClassesAtExit=/deployments/taskbatch.jsa -jar /deployments/quarkus-run.jar run /tmp/cds.yaml --progress none --output /dev/null \
 && rm /tmp/cds.yaml && chmod 444 /deployments/taskbatch.jsa
USER 10001:10001
# Health (/q/health/live, /q/health/ready) and metrics (/q/metrics) when TASKBATCH_HTTP_PORT=8080, as the operator Deployment sets it.
EXPOSE 8080
# The heap follows the container's memory limit. More JVM flags: JAVA_TOOL_OPTIONS (the flags here win over it).
ENTRYPOINT ["/usr/bin/tini", "--", "java", "-XX:MaxRAMPercentage=75", "-XX:SharedArchiveFile=/deployments/taskbatch.jsa", "-jar", "/deployments/quarkus-run.jar"]
# No role by default: prints the roles and exits.
CMD ["--help"]
