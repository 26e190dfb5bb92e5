// Command sizeprobe is a size probe: one GET through the official Huawei SDK.
//
// BenchmarkBinarySize/sdk, in package interop, measures it: it builds it
// and reports the size of the stripped binary. No test ever runs it. Keep
// it as it is, so that sizes measured before and after a change compare.
package main

import (
	"fmt"
	"os"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	dcs "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/dcs/v2"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/dcs/v2/model"
)

func main() {
	cred, err := basic.NewCredentialsBuilder().WithAk("AK").WithSk("SK").WithProjectId("p").SafeBuild()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	hc, err := dcs.DcsClientBuilder().WithEndpoints([]string{os.Args[1]}).WithCredential(cred).SafeBuild()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	c := dcs.NewDcsClient(hc)
	resp, err := c.ListNumberOfInstancesInDifferentStatus(&model.ListNumberOfInstancesInDifferentStatusRequest{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(*resp.RunningCount)
}
