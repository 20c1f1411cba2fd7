{{/* Name of the release's objects. */}}
{{- define "auditpipe.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "auditpipe.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "auditpipe.labels" -}}
{{ include "auditpipe.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: auditpipe
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "auditpipe.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "auditpipe.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
The namespaced rules: exactly what the operator touches. Keep in step with
auditpipe_operator.resources.desired.MANAGED_KINDS (operator/tests/test_chart.py checks it).
*/}}
{{- define "auditpipe.namespacedRules" -}}
- apiGroups: [auditpipe.dev]
  resources: [auditpipelines]
  verbs: [get, list, watch, patch, update]
- apiGroups: [auditpipe.dev]
  resources: [auditpipelines/status]
  verbs: [get, patch, update]
- apiGroups: [auditpipe.dev]
  resources: [auditpipelines/finalizers]
  verbs: [update]
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
- apiGroups: [""]
  resources: [secrets]
  verbs: [create]
- apiGroups: [""]
  resources: [pods]
  verbs: [list]
- apiGroups: [""]
  resources: [configmaps, services, serviceaccounts, persistentvolumeclaims]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [apps]
  resources: [deployments, statefulsets]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [autoscaling]
  resources: [horizontalpodautoscalers]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [networking.k8s.io]
  resources: [ingresses, networkpolicies]
  verbs: [get, list, watch, create, patch, delete]
{{- if .Values.rbac.altinity }}
- apiGroups: [clickhouse.altinity.com]
  resources: [clickhouseinstallations]
  verbs: [get, list, create, patch, delete]
{{- end }}
{{- end -}}
