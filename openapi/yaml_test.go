package openapi_test

import "go.yaml.in/yaml/v3"

// yamlKeys decodes a YAML mapping into its keys, in document order.
type yamlKeys []string

func (k *yamlKeys) UnmarshalYAML(n *yaml.Node) error {
	for i := 0; i+1 < len(n.Content); i += 2 {
		*k = append(*k, n.Content[i].Value)
	}
	return nil
}

func yamlUnmarshal(data []byte, v any) error { return yaml.Unmarshal(data, v) }
