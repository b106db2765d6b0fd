// One thread, one NAS-Bench-201 stage's 3×3 convolution (C→C on an H×H map, 16 images): the
// direct kernels against Winograd, forward and weight gradient, best of 7 runs each. (The input
// gradient runs the forward kernel on the output gradient with the flipped weights.)
// Built and run by bench/conv_kernels.sh.
#include "CKernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <math.h>
static float *zeros(size_t n){float *p=aligned_alloc(64,(n*4+63)/64*64);if(!p)abort();for(size_t i=0;i<n;i++)p[i]=0;return p;}
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(){
  int cs[]={16,32,64,16,32,64}, hs[]={32,16,8,28,14,7};
  for(int q=0;q<6;q++){
    int C=cs[q],H=hs[q],Hp=H+2,N=16;
    // Cache-line aligned, as the engine's tensors are (16-byte alignment made timings bimodal).
    float *xp=zeros((size_t)N*Hp*Hp*C),*w=zeros(9*C*C),*U=zeros(16*C*C),*U4=zeros(36*C*C),*out4=zeros((size_t)N*H*H*C),*out=zeros((size_t)N*H*H*C),*gy=zeros((size_t)N*H*H*C);
    float *dw=zeros(9*C*C),*M=zeros(16*C*C),*dw4=zeros(9*C*C),*M4=zeros(36*C*C);
    for(long i=0;i<(long)N*Hp*Hp*C;i++) xp[i]=(rand()%100)/50.0-1;
    for(int i=0;i<9*C*C;i++) w[i]=(rand()%100)/500.0;
    for(long i=0;i<(long)N*H*H*C;i++) gy[i]=(rand()%100)/50.0-1;
    nas_winograd_weights(w,C,C,U); nas_winograd4_weights(w,C,C,U4);
    double best[6]={1e9,1e9,1e9,1e9,1e9,1e9};
    for(int r=0;r<7;r++){
      double t=now(); for(int n=0;n<N;n++) nas_conv_direct_forward(xp+(long)n*Hp*Hp*C,Hp,C,C,w,C,3,3,1,1,1,1,H,H,C,NULL,out+(long)n*H*H*C,NULL,NULL); t=now()-t; if(t<best[0])best[0]=t;
      t=now(); for(int n=0;n<N;n++) nas_conv_winograd_forward(xp+(long)n*Hp*Hp*C,Hp,Hp,C,C,U,C,H,H,C,NULL,out+(long)n*H*H*C,NULL,NULL); t=now()-t; if(t<best[1])best[1]=t;
      t=now(); for(int n=0;n<N;n++) nas_conv_winograd4_forward(xp+(long)n*Hp*Hp*C,Hp,Hp,C,C,U4,C,H,H,C,NULL,out4+(long)n*H*H*C,NULL,NULL); t=now()-t; if(t<best[4])best[4]=t;
      t=now(); for(int n=0;n<N;n++) nas_conv_direct_weight_grad(xp+(long)n*Hp*Hp*C,Hp,C,C,gy+(long)n*H*H*C,C,3,3,1,1,1,1,H,H,dw); t=now()-t; if(t<best[2])best[2]=t;
      t=now(); for(int n=0;n<N;n++) nas_winograd_weight_grad(xp+(long)n*Hp*Hp*C,Hp,Hp,C,gy+(long)n*H*H*C,C,H,H,M); nas_winograd_weight_grad_output(M,C,C,dw); t=now()-t; if(t<best[3])best[3]=t;
      for(int i=0;i<9*C*C;i++)dw4[i]=0; for(int i=0;i<36*C*C;i++)M4[i]=0;
      t=now(); for(int n=0;n<N;n++) nas_winograd4_weight_grad(xp+(long)n*Hp*Hp*C,Hp,Hp,C,gy+(long)n*H*H*C,C,H,H,M4); nas_winograd4_weight_grad_output(M4,C,C,dw4); t=now()-t; if(t<best[5])best[5]=t;
    }
    double gf=2.0*N*H*H*9*C*C/1e9, err=0, mag=0;
    for(long i=0;i<(long)N*H*H*C;i++){double e=fabs(out4[i]-out[i]);if(e>err)err=e;if(fabs(out[i])>mag)mag=fabs(out[i]);}
    for(int i=0;i<9*C*C;i++)dw[i]=0; for(int i=0;i<16*C*C;i++)M[i]=0;
    for(int n=0;n<N;n++) nas_winograd_weight_grad(xp+(long)n*Hp*Hp*C,Hp,Hp,C,gy+(long)n*H*H*C,C,H,H,M); nas_winograd_weight_grad_output(M,C,C,dw);
    double gerr=0,gmag=0; for(int i=0;i<9*C*C;i++){double e=fabs(dw4[i]-dw[i]);if(e>gerr)gerr=e;if(fabs(dw[i])>gmag)gmag=fabs(dw[i]);}
    printf("C=%d H=%d  fwd direct %.2f ms (%.0f GF/s)  wino %.2f ms  wino4 %.2f ms (max diff %.1e of %.1e) | wgrad direct %.2f ms (%.0f GF/s) wino %.2f ms wino4 %.2f ms (max diff %.1e of %.1e)\n",C,H,best[0]*1e3,gf/best[0],best[1]*1e3,best[4]*1e3,err,mag,best[2]*1e3,gf/best[2],best[3]*1e3,best[5]*1e3,gerr,gmag);
  }
}
