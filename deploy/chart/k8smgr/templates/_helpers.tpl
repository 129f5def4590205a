{{/* Names, labels and the rendered config.json of the K8s Manager chart. */}}

{{- define "k8smgr.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The name of every object and the manager's DEPLOYMENT_NAME. */}}
{{- define "k8smgr.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "k8smgr.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "k8smgr.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "k8smgr.selectorLabels" -}}
app.kubernetes.io/name: {{ include "k8smgr.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "k8smgr.labels" -}}
helm.sh/chart: {{ include "k8smgr.chart" . }}
{{ include "k8smgr.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "k8smgr.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "k8smgr.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* DEPLOYMENT_NAMESPACE: where users' services are created. */}}
{{- define "k8smgr.servicesNamespace" -}}
{{- default .Release.Namespace .Values.servicesNamespace -}}
{{- end -}}

{{/* <CREDENTIAL>_USER_PASS, as the manager derives it (src/config/env.ts userPassVariable). */}}
{{- define "k8smgr.userPassVariable" -}}
{{- printf "%s_USER_PASS" (regexReplaceAll "[^A-Z0-9_]" (upper .) "_") -}}
{{- end -}}

{{/* Fails on credentials the manager could not take. */}}
{{- define "k8smgr.checkCredentials" -}}
{{- range $name, $cred := .Values.credentials -}}
{{- if not (regexMatch "^[A-Za-z0-9_.-]+$" $name) -}}
{{- fail (printf "credentials.%s: a credential name has only letters, digits, \"_\", \"-\" and \".\"" $name) -}}
{{- end -}}
{{- if not (and $cred $cred.secret $cred.secret.name $cred.secret.key) -}}
{{- fail (printf "credentials.%s.secret: name and key of the Secret that holds the password are required" $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
config.json: .Values.config, with services.descriptions defaulting to
descriptions.mountPath and startup.create_user.<name> set to the groups of each
credential.
*/}}
{{- define "k8smgr.configJson" -}}
{{- $config := deepCopy (.Values.config | default dict) -}}
{{- $services := deepCopy (get $config "services" | default dict) -}}
{{- if not (hasKey $services "descriptions") -}}
{{- $_ := set $services "descriptions" .Values.descriptions.mountPath -}}
{{- end -}}
{{- $_ := set $config "services" $services -}}
{{- if .Values.credentials -}}
{{- $startup := deepCopy (get $config "startup" | default dict) -}}
{{- $create := deepCopy (get $startup "create_user" | default dict) -}}
{{- range $name, $cred := .Values.credentials -}}
{{- $_ := set $create $name ($cred.groups | default (list "access_to_webservice")) -}}
{{- end -}}
{{- $_ := set $startup "create_user" $create -}}
{{- $_ := set $config "startup" $startup -}}
{{- end -}}
{{- toPrettyJson $config -}}
{{- end -}}

{{/* The ConfigMap key of a descriptions file: ConfigMap keys cannot hold "/". */}}
{{- define "k8smgr.descriptionKey" -}}
{{- printf "%s-%s" (sha256sum . | trunc 10) (base .) -}}
{{- end -}}

{{- define "k8smgr.checkDescriptions" -}}
{{- range $path, $_ := .Values.descriptions.files -}}
{{- if or (not (regexMatch "^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$" $path)) (regexMatch "(^|/)\\.\\.?(/|$)" $path) -}}
{{- fail (printf "descriptions.files: %q is not a relative path of letters, digits, \"_\", \"-\", \".\" without \".\" or \"..\" segments" $path) -}}
{{- end -}}
{{- end -}}
{{- end -}}
