{{/*
The chart name, or nameOverride. Kubernetes names and label values stop at 63 characters.
*/}}
{{- define "taskbatch.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's objects: fullnameOverride, else RELEASE-NAME (just RELEASE when it
already contains the chart name), truncated to 63 characters, the limit of a DNS label.
*/}}
{{- define "taskbatch.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "taskbatch.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every object.
*/}}
{{- define "taskbatch.labels" -}}
helm.sh/chart: {{ include "taskbatch.chart" . }}
{{ include "taskbatch.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: taskbatch
{{- end }}

{{/*
Labels that select the release's pods; each workload adds app.kubernetes.io/component.
*/}}
{{- define "taskbatch.selectorLabels" -}}
app.kubernetes.io/name: {{ include "taskbatch.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The operator's ServiceAccount.
*/}}
{{- define "taskbatch.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "taskbatch.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The operator's image; the tag defaults to the chart's appVersion.
*/}}
{{- define "taskbatch.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/*
Image of the master and worker pods the operator creates: workerImage, else the operator's own.
*/}}
{{- define "taskbatch.workerImage" -}}
{{- .Values.workerImage | default (include "taskbatch.image" .) }}
{{- end }}

{{/*
Name of the bundled RabbitMQ (StatefulSet, Services, password Secret). 52 characters at most: a
StatefulSet's pods carry a controller-revision-hash label of its name plus 11 characters.
*/}}
{{- define "taskbatch.rabbitmq.fullname" -}}
{{- printf "%s-rabbitmq" (include "taskbatch.fullname" . | trunc 43 | trimSuffix "-") }}
{{- end }}

{{/*
The broker Secret in the release namespace (key uri): broker.existingSecret, else for the bundled
RabbitMQ rabbitmq.auth.existingSecret (the user's, holding the password and the URI), else the one
this chart writes.
*/}}
{{- define "taskbatch.brokerSecret.source" -}}
{{- if .Values.broker.existingSecret }}
{{- .Values.broker.existingSecret }}
{{- else if and .Values.rabbitmq.enabled .Values.rabbitmq.auth.existingSecret }}
{{- .Values.rabbitmq.auth.existingSecret }}
{{- else }}
{{- printf "%s-broker" (include "taskbatch.fullname" . | trunc 56 | trimSuffix "-") }}
{{- end }}
{{- end }}

{{/*
Name of the broker Secret the operator expects in each batch's namespace
(TASKBATCH_OPERATOR_BROKER_SECRET): broker.secretName, else the source Secret's name, so batches in
the release namespace work without a copy.
*/}}
{{- define "taskbatch.brokerSecret.name" -}}
{{- .Values.broker.secretName | default (include "taskbatch.brokerSecret.source" .) }}
{{- end }}

{{/*
Exactly one broker: a bundled RabbitMQ or an existing Secret. Fails the render otherwise.
*/}}
{{- define "taskbatch.validateBroker" -}}
{{- if and .Values.rabbitmq.enabled .Values.broker.existingSecret }}
{{- fail "broker.existingSecret and rabbitmq.enabled=true name two brokers: set rabbitmq.enabled=false to use the existing Secret" }}
{{- end }}
{{- if not (or .Values.rabbitmq.enabled .Values.broker.existingSecret) }}
{{- fail "no broker: set broker.existingSecret (a Secret with key uri) or rabbitmq.enabled=true" }}
{{- end }}
{{- if and .Values.rabbitmq.enabled .Values.rabbitmq.auth.password .Values.rabbitmq.auth.existingSecret }}
{{- fail "rabbitmq.auth.password and rabbitmq.auth.existingSecret both give the RabbitMQ password: set only one" }}
{{- end }}
{{- end }}

{{/*
Labels of the master and worker pods the operator creates (io.taskbatch.operator.BatchLabels), as
the matchLabels and matchExpressions of a label selector; component: master, worker or both.
*/}}
{{- define "taskbatch.batchPodSelector" -}}
matchLabels:
  app.kubernetes.io/managed-by: taskbatch-operator
{{- if eq .component "both" }}
matchExpressions:
  - key: app.kubernetes.io/component
    operator: In
    values: [master, worker]
{{- else }}
  app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end }}

{{/*
Namespaces that get the egress policies of batch pods: the release namespace, watchNamespaces and
networkPolicy.batchNamespaces, once each, as a JSON list.
*/}}
{{- define "taskbatch.networkPolicy.batchNamespaces" -}}
{{- concat (list .Release.Namespace) (default (list) .Values.watchNamespaces) (default (list) .Values.networkPolicy.batchNamespaces) | uniq | toJson }}
{{- end }}

{{/*
Where Prometheus runs (networkPolicy.monitoring), as one NetworkPolicyPeer.
*/}}
{{- define "taskbatch.networkPolicy.monitoringPeer" -}}
- namespaceSelector:
    {{- with .Values.networkPolicy.monitoring.namespaceLabels }}
    matchLabels:
      {{- toYaml . | nindent 6 }}
    {{- else }} {}
    {{- end }}
  podSelector:
    {{- with .Values.networkPolicy.monitoring.podLabels }}
    matchLabels:
      {{- toYaml . | nindent 6 }}
    {{- else }} {}
    {{- end }}
{{- end }}

{{/*
Pod and container security contexts of the operator and the test pod: the restricted Pod
Security Standard, plus a read-only root filesystem (/tmp is an emptyDir).
*/}}
{{- define "taskbatch.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "taskbatch.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
{{- end }}

{{/*
The PodMonitor's interval must be shorter than the time a done master or worker pod keeps serving
its final counts (the operator's TASKBATCH_OPERATOR_METRICS_LINGER, 20s unless extraEnv sets it in
seconds), or Prometheus may never scrape them. Fails the render otherwise.
*/}}
{{- define "taskbatch.validatePodMonitorInterval" -}}
{{- $interval := .Values.metrics.podMonitor.interval | trimSuffix "s" | atoi }}
{{- $linger := 20 }}
{{- range .Values.extraEnv }}
{{- if and (eq .name "TASKBATCH_OPERATOR_METRICS_LINGER") (regexMatch "^[0-9]+s?$" (.value | default "")) }}
{{- $linger = .value | trimSuffix "s" | atoi }}
{{- end }}
{{- end }}
{{- if ge $interval $linger }}
{{- fail (printf "metrics.podMonitor.interval %s is not shorter than the %ds the batch pods keep serving their final counts (TASKBATCH_OPERATOR_METRICS_LINGER): lower the interval, or raise the linger (below the pods' 30s grace period)" .Values.metrics.podMonitor.interval $linger) }}
{{- end }}
{{- end }}
