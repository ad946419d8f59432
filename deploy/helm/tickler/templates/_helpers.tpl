{{/* Chart name, truncated to the 63 characters Kubernetes names allow. */}}
{{- define "tickler.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name: the release name alone when it already contains the chart name. */}}
{{- define "tickler.fullname" -}}
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

{{- define "tickler.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tickler.labels" -}}
helm.sh/chart: {{ include "tickler.chart" . }}
{{ include "tickler.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "tickler.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tickler.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "tickler.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tickler.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Name of the Secret holding the database URL and the JWT secret. */}}
{{- define "tickler.secretName" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecret }}
{{- else }}
{{- include "tickler.fullname" . }}
{{- end }}
{{- end }}

{{/* One "x" per pod of every enabled component: `len` of it counts the pods. */}}
{{- define "tickler.podMarks" -}}
{{- range $component, $spec := .Values.components }}
{{- if $spec.enabled }}{{ repeat (int $spec.replicas) "x" }}{{ end }}
{{- end }}
{{- end }}
